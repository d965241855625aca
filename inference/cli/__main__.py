from newsroles.inference.cli import main

main()
