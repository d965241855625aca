"""A three-article miniature of the NewsDiscourse corpus in brat format, written out by the tests.

Hand-written stories (not corpus text), kept in code so that no annotation files are tracked. It has
the real corpus's layout (`train/<domain>/` and a flat `validation/`) and its quirks: `H` and `S<n>`
lines with one or two spaces after the id, trailing spaces on `.ann` lines, `Speech` listed before the
content type, NA sentences, several sentences per paragraph, and (in `train/Politics/Xinhua_48.ann`,
line 7) a `T` line whose covered text is a bare `3` instead of `S<n>` (its offsets point inside S2's
text), as in the real corpus. All eight content types occur. Under the `roles` mapping: train 10
sentences (quote 3, background 3, stance 1, fact 1, NA 2), validation 5 (fact 2, background 2, NA 1).
"""

from __future__ import annotations

from pathlib import Path

FILES = {
    'train/Business/Reuters_1.ann': (
        'T1\tNA 288 290\tS2\n'
        'E1\tNA:T1 \n'
        'T2\tNA 336 338\tS3\n'
        'E2\tNA:T2 \n'
        'T3\tSpeech 361 363\tS4  \n'
        'E3\tSpeech:T3 \n'
        'T4\tMain 172 174\tS1\n'
        'E4\tMain:T4 \n'
        'T5\tDistant_Evaluation 361 363\tS4  \n'
        'E5\tDistant_Evaluation:T5 \n'
        'T6\tCause_General 460 462\tS5\n'
        'E6\tCause_General:T6 \n'
        'T7\tDistant_Historical 521 523\tS6 \n'
        'E7\tDistant_Historical:T7 \n'
        'T8\tSpeech 595 597\tS7\n'
        'E8\tSpeech:T8 \n'
        'T9\tDistant_Expectations_Consequences 595 597\tS7\n'
        'E9\tDistant_Expectations_Consequences:T9 \n'
    ),
    'train/Business/Reuters_1.txt': (
        'URL https://www.reuters.com/article/example-widget-1\n'
        '\n'
        'DATE/ AUTHOR 2018-10-05 19:30:29+00:00\tAUTHORS: Jane Doe, John Roe\n'
        '\n'
        'H  Widget maker shares fall after profit warning\n'
        '\n'
        'S1 NEW YORK (Reuters) - Shares of Widget Corp fell 12 percent on Friday after the company cut its profit forecast.\n'
        '\n'
        'S2 FILE PHOTO: A Widget Corp store in New York.\n'
        'S3 REUTERS/Photographer\n'
        '\n'
        'S4  “This is a disappointing quarter for everyone,” chief executive Ann Smith said in a statement.\n'
        'S5 Analysts had expected the company to raise its forecast.\n'
        '\n'
        'S6 The company has struggled since a 2015 recall of its flagship product.\n'
        'S7 Investors are likely to remain cautious until the holiday season, analysts said.\n'
    ),
    'train/Politics/Xinhua_48.ann': (
        'T1\tMain 118 120\tS1\n'
        'E1\tMain:T1 \n'
        'T2\tSpeech 118 120\tS1\n'
        'E2\tSpeech:T2 \n'
        'T3\tCause_Specific 221 223\tS2\n'
        'E3\tCause_Specific:T3 \n'
        'T4\tSpeech 241 242\t3\n'
        'E4\tSpeech:T4 \n'
        'T5\tDistant_Evaluation 303 305\tS3\n'
        'E5\tDistant_Evaluation:T5 \n'
    ),
    'train/Politics/Xinhua_48.txt': (
        'URL http://www.xinhuanet.com/english/example-budget\n'
        '\n'
        'DATE/ AUTHOR None\tAUTHORS: \n'
        '\n'
        'H Parliament to vote on new budget\n'
        '\n'
        'S1 BEIJING, Dec. 11 (Xinhua) -- The parliament will vote on the new budget on Friday, officials said.\n'
        '\n'
        'S2 The vote follows 3 weeks of talks between the ruling party and the opposition.\n'
        'S3 Critics say the budget cuts too deeply into welfare spending.\n'
    ),
    'validation/BXinhua_1.ann': (
        'T1\tMain 134 136\tS1\n'
        'E1\tMain:T1 \n'
        'T2\tMain_Consequence 209 211\tS2\n'
        'E2\tMain_Consequence:T2 \n'
        'T3\tCause_General 260 262\tS3\n'
        'E3\tCause_General:T3 \n'
        'T4\tDistant_Anecdotal 297 299\tS4\n'
        'E4\tDistant_Anecdotal:T4 \n'
        'T5\tNA 369 371\tS5\n'
        'E5\tNA:T5 \n'
    ),
    'validation/BXinhua_1.txt': (
        'URL http://www.xinhuanet.com/english/example-flood\n'
        '\n'
        'DATE/ AUTHOR 2019-01-04 00:00:00\tAUTHORS: \n'
        '\n'
        'H  Flood forces thousands from homes\n'
        '\n'
        'S1  Floods forced 5,000 people from their homes in the region on Thursday.\n'
        'S2 Schools and roads were closed across the area.\n'
        '\n'
        'S3 Heavy rain has fallen for a week.\n'
        'S4 One resident said she had never seen the river so high in 40 years.\n'
        '\n'
        'S5 (Editing by Someone)\n'
    ),
}


def write_brat_miniature(root: Path) -> Path:
    """Write the miniature corpus under `root` (byte for byte, UTF-8) and return `root`."""
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return root
