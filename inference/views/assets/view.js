// The labeled-stories view: renders newsroles JSONL records (one per story) in pages, so that a
// file of thousands of stories opens at once. Every piece of story text goes in through
// textContent, never as markup: a story holding tags shows them as text.
"use strict";
var NewsrolesView = (function () {
  var SPARE = ["#0072B2", "#D55E00", "#F0E442", "#999999", "#000000"];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function pct(x) { return Math.round(x * 100) + "%"; }

  function View(root, config) {
    this.root = root;
    this.config = config;
    this.roles = {};
    this.roleOrder = [];
    (config.roles || []).forEach(this.addRole, this);
    this.threshold = typeof config.min_confidence === "number" ? config.min_confidence : 0.5;
    this.pageSize = config.page_size || 20;
    this.page = 0;
    this.filter = "";
    this.lowOnly = false;
    this.stories = [];
    this.shown = [];
    this.build();
  }

  View.prototype.addRole = function (role) {
    if (this.roles[role.name]) return this.roles[role.name];
    var spare = SPARE[this.roleOrder.length % SPARE.length];
    var r = { name: role.name, badge: role.badge || role.name.slice(0, 2).toUpperCase(), color: role.color || spare };
    this.roles[r.name] = r;
    this.roleOrder.push(r.name);
    return r;
  };

  View.prototype.build = function () {
    var self = this;
    this.legend = el("div", "legend");
    this.legend.setAttribute("aria-label", "legend");
    var controls = el("div", "controls");
    var roleLabel = el("label", null, "Stories with role ");
    this.select = el("select");
    this.select.id = "role-filter";
    roleLabel.appendChild(this.select);
    this.select.addEventListener("change", function () { self.filter = self.select.value; self.page = 0; self.update(); });
    var lowLabel = el("label");
    this.lowBox = el("input");
    this.lowBox.type = "checkbox";
    this.lowBox.id = "low-only";
    lowLabel.appendChild(this.lowBox);
    lowLabel.appendChild(document.createTextNode("only with low-confidence sentences"));
    this.lowBox.addEventListener("change", function () { self.lowOnly = self.lowBox.checked; self.page = 0; self.update(); });
    var thrLabel = el("label", null, "low confidence below ");
    this.thrInput = el("input");
    this.thrInput.type = "number"; this.thrInput.min = "0"; this.thrInput.max = "1"; this.thrInput.step = "0.05";
    this.thrInput.id = "min-confidence";
    this.thrInput.value = String(this.threshold);
    thrLabel.appendChild(this.thrInput);
    this.thrInput.addEventListener("change", function () {
      var v = parseFloat(self.thrInput.value);
      if (!isNaN(v)) { self.threshold = v; self.update(); }
    });
    this.pager = el("div", "pager");
    controls.appendChild(roleLabel);
    controls.appendChild(lowLabel);
    controls.appendChild(thrLabel);
    controls.appendChild(this.pager);
    this.index = el("nav", "index");
    this.index.setAttribute("aria-label", "stories on this page");
    this.list = el("div", "stories");
    this.root.appendChild(this.legend);
    this.root.appendChild(controls);
    this.root.appendChild(this.index);
    this.root.appendChild(this.list);
    window.addEventListener("hashchange", function () { self.goToHash(); });
  };

  View.prototype.setStories = function (stories) {
    var self = this;
    this.stories = stories;
    stories.forEach(function (story) {
      (story.sentences || []).forEach(function (s) { if (s.label != null) self.addRole({ name: s.label }); });
    });
    this.page = 0;
    this.renderLegend();
    this.renderFilter();
    if (!this.goToHash()) this.update();
  };

  View.prototype.goToHash = function () {
    var m = /^#story-(\d+)$/.exec(window.location.hash);
    if (!m) return false;
    var k = parseInt(m[1], 10);
    if (k >= this.stories.length) return false;
    this.filter = ""; this.lowOnly = false; this.select.value = ""; this.lowBox.checked = false;
    this.page = Math.floor(k / this.pageSize);
    this.update();
    var target = document.getElementById("story-" + k);
    if (target) target.scrollIntoView();
    return true;
  };

  View.prototype.renderLegend = function () {
    var self = this;
    this.legend.textContent = "";
    this.legend.appendChild(el("strong", null, "Roles:"));
    this.roleOrder.forEach(function (name) {
      var r = self.roles[name];
      var item = el("span", "item");
      var sw = el("span", "swatch");
      sw.style.background = r.color;
      item.appendChild(sw);
      item.appendChild(el("span", "badge", r.badge));
      item.appendChild(document.createTextNode(name));
      self.legend.appendChild(item);
    });
    var low = el("span", "item");
    var lowSample = el("span", "s low", "dashed");
    low.appendChild(lowSample);
    low.appendChild(document.createTextNode("low confidence (badge ?)"));
    this.legend.appendChild(low);
    var none = el("span", "item");
    none.appendChild(el("span", "s none", "hatched"));
    none.appendChild(document.createTextNode("unlabeled (boilerplate)"));
    this.legend.appendChild(none);
    this.legend.appendChild(el("span", "item", "Shading: stronger = more confident. Hover or focus a sentence for its scores."));
  };

  View.prototype.renderFilter = function () {
    var self = this;
    this.select.textContent = "";
    var any = el("option", null, "any");
    any.value = "";
    this.select.appendChild(any);
    this.roleOrder.forEach(function (name) {
      var o = el("option", null, name);
      o.value = name;
      self.select.appendChild(o);
    });
  };

  View.prototype.isLow = function (s) {
    return s.label != null && typeof s.confidence === "number" && s.confidence < this.threshold;
  };

  View.prototype.matches = function (story) {
    var self = this;
    var sents = story.sentences || [];
    if (this.filter && !sents.some(function (s) { return s.label === self.filter; })) return false;
    if (this.lowOnly && !sents.some(function (s) { return self.isLow(s); })) return false;
    return true;
  };

  View.prototype.update = function () {
    var self = this;
    this.shown = [];
    for (var k = 0; k < this.stories.length; k++) if (this.matches(this.stories[k])) this.shown.push(k);
    var pages = Math.max(1, Math.ceil(this.shown.length / this.pageSize));
    if (this.page >= pages) this.page = pages - 1;
    var onPage = this.shown.slice(this.page * this.pageSize, (this.page + 1) * this.pageSize);
    this.renderPager(pages);
    this.renderIndex(onPage);
    this.list.textContent = "";
    if (!onPage.length) this.list.appendChild(el("p", "empty", this.stories.length ? "No story matches the filter." : "No stories yet."));
    onPage.forEach(function (k) { self.list.appendChild(self.renderStory(self.stories[k], k)); });
  };

  View.prototype.renderPager = function (pages) {
    var self = this;
    this.pager.textContent = "";
    var prev = el("button", null, "\u2190 previous");
    prev.type = "button";
    prev.disabled = this.page === 0;
    prev.addEventListener("click", function () { self.page -= 1; self.update(); });
    var next = el("button", null, "next \u2192");
    next.type = "button";
    next.disabled = this.page >= pages - 1;
    next.addEventListener("click", function () { self.page += 1; self.update(); });
    var info = el("span", "page-info", "page " + (this.page + 1) + " of " + pages + " (" + this.shown.length + " of " + this.stories.length + " stories)");
    this.pager.appendChild(prev);
    this.pager.appendChild(info);
    this.pager.appendChild(next);
  };

  View.prototype.renderIndex = function (onPage) {
    var self = this;
    this.index.textContent = "";
    if (this.stories.length < 2) return;
    this.index.appendChild(el("strong", null, "Stories on this page"));
    var ol = el("ol");
    ol.start = this.page * this.pageSize + 1;
    onPage.forEach(function (k) {
      var story = self.stories[k];
      var li = el("li");
      var a = el("a", null, story.title || story.id);
      a.href = "#story-" + k;
      li.appendChild(a);
      ol.appendChild(li);
    });
    this.index.appendChild(ol);
  };

  View.prototype.tipText = function (s) {
    if (s.label == null) return "unlabeled" + (s.reason ? ": " + s.reason : "");
    var lines = [s.label + (typeof s.confidence === "number" ? " " + s.confidence.toFixed(2) : "") + (this.isLow(s) ? " (low confidence)" : "")];
    var scores = s.scores || {};
    Object.keys(scores).sort(function (a, b) { return scores[b] - scores[a]; }).forEach(function (name) {
      lines.push(name + ": " + scores[name].toFixed(2));
    });
    return lines.join("\n");
  };

  View.prototype.renderSentence = function (s) {
    var span = el("span", "s");
    span.tabIndex = 0;
    var tip = this.tipText(s);
    span.title = tip;
    if (s.label == null) {
      span.className += " none";
      span.setAttribute("data-role", "");
      span.appendChild(el("span", "badge", "\u2013"));
    } else {
      var r = this.addRole({ name: s.label });
      span.setAttribute("data-role", s.label);
      if (this.isLow(s)) span.className += " low";
      if (this.filter && this.filter !== s.label) span.className += " dim";
      // Shading: the role's colour, stronger the more confident the model is.
      var c = typeof s.confidence === "number" ? s.confidence : 1;
      span.style.backgroundColor = r.color + alphaHex(0.12 + 0.58 * c);
      span.appendChild(el("span", "badge", r.badge));
    }
    if (typeof s.confidence === "number") span.setAttribute("data-confidence", s.confidence.toFixed(3));
    // Where the sentence stands in the story's text (the story's data-offsets-into says which text).
    if (typeof s.start === "number") { span.setAttribute("data-start", s.start); span.setAttribute("data-end", s.end); }
    span.appendChild(el("span", "text", s.text));
    span.appendChild(el("span", "tip", tip)).setAttribute("aria-hidden", "true");
    span.appendChild(el("span", "sr", " (" + tip.replace(/\n/g, "; ") + ")"));
    return span;
  };

  function alphaHex(a) {
    var v = Math.max(0, Math.min(255, Math.round(a * 255))).toString(16);
    return v.length < 2 ? "0" + v : v;
  }

  View.prototype.renderShares = function (story, box) {
    var self = this;
    var counts = {}, total = 0;
    (story.sentences || []).forEach(function (s) {
      if (s.label != null) { counts[s.label] = (counts[s.label] || 0) + 1; total += 1; }
    });
    if (!total) return;
    var bar = el("div", "shares");
    bar.setAttribute("role", "img");
    var words = [];
    this.roleOrder.forEach(function (name) {
      if (!counts[name]) return;
      var seg = el("span");
      seg.style.width = (100 * counts[name] / total) + "%";
      seg.style.background = self.roles[name].color;
      seg.title = name + " " + pct(counts[name] / total);
      bar.appendChild(seg);
      words.push(self.roles[name].badge + " " + name + " " + pct(counts[name] / total));
    });
    bar.setAttribute("aria-label", "role shares: " + words.join(", "));
    box.appendChild(bar);
    box.appendChild(el("div", "share-text", words.join(" \u00b7 ")));
  };

  View.prototype.renderStory = function (story, k) {
    var self = this;
    var box = el("article", "story");
    box.id = "story-" + k;
    box.setAttribute("data-id", story.id);
    if (story.offsets_into) box.setAttribute("data-offsets-into", story.offsets_into);
    var h = el("h2", null, story.title || story.id);
    // The publication date found in an HTML page (meta.date), beside the id.
    var date = story.meta && typeof story.meta.date === "string" ? story.meta.date : "";
    var about = [story.title ? story.id : "", date].filter(Boolean).join(", ");
    if (about) h.appendChild(el("span", "sid", "  (" + about + ")"));
    box.appendChild(h);
    this.renderShares(story, box);
    var para = null, last;
    (story.sentences || []).forEach(function (s, i) {
      var p = s.paragraph === undefined || s.paragraph === null ? 0 : s.paragraph;
      if (para === null || p !== last) { para = el("p"); box.appendChild(para); last = p; }
      if (i) para.appendChild(document.createTextNode(" "));
      para.appendChild(self.renderSentence(s));
    });
    return box;
  };

  // The view in the page's #view element, configured by its #newsroles-config JSON.
  function mount() {
    var config = JSON.parse(document.getElementById("newsroles-config").textContent);
    var view = new View(document.getElementById("view"), config);
    window.newsrolesView = view;
    return view;
  }

  return { View: View, mount: mount };
})();
