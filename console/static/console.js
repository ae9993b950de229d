/* gatewayd console behaviour: menu, confirmations, live counters, live updates, type-ahead.
   No inline script anywhere (the CSP forbids it): pages declare what they need in data-* attributes.
   Text from SMS, files and users is only ever inserted as textContent, or as HTML the server
   rendered with autoescaping. */
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.getAttribute("data-csrf") || "";
  var pollMs = parseInt(body.getAttribute("data-poll-ms") || "3000", 10);

  function $(sel, ctx) { return (ctx || document).querySelector(sel); }
  function $all(sel, ctx) { return Array.prototype.slice.call((ctx || document).querySelectorAll(sel)); }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? String(values[k]) : m; });
  }

  /* Menu on phones */
  var toggle = $(".menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var nav = $("#nav");
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  /* Confirmation before destructive forms */
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute && form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });

  /* A page size choice applies at once (the list's filters are in the same form) */
  $all("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { if (select.form) { select.form.submit(); } });
  });

  /* Live SMS counter: <textarea data-counter="#out"> and <output data-template=... data-ucs2=... data-max=...> */
  function bindCounter(area) {
    var out = $(area.getAttribute("data-counter"));
    if (!out || !window.GatewaydSegments) { return; }
    var update = function () {
      // data-suffix: text the box appends (the marketing STOP mention), counted only while the
      // control named by data-suffix-when is checked.
      var extra = area.getAttribute("data-suffix") || "";
      var when = area.getAttribute("data-suffix-when");
      if (when && !$(when + ":checked")) { extra = ""; }
      var text = area.value + (extra && area.value ? extra : "");
      var info = window.GatewaydSegments.count(text);
      var max = parseInt(out.getAttribute("data-max") || "0", 10);
      var line = fill(out.getAttribute("data-template") || "{segments}", info);
      out.textContent = line;
      if (info.ucs2_forcing.length && out.getAttribute("data-ucs2")) {
        var span = document.createElement("span");
        span.className = "ucs2";
        span.textContent = " \u00B7 " + fill(out.getAttribute("data-ucs2"), { chars: info.ucs2_forcing.join(" ") });
        out.appendChild(span);
      }
      out.classList.toggle("over", max > 0 && info.segments > max);
      out.setAttribute("data-segments", String(info.segments));
      out.setAttribute("data-encoding", info.encoding);
    };
    // data-preview: the server's count replaces the local one (the STOP mention in the reader's
    // language, the GSM-7 look-alikes and what they save are the service's rules, not copied here).
    var previewUrl = area.getAttribute("data-preview");
    var timer = null, asked = 0;
    var preview = function () {
      var form = area.form;
      var q = new URLSearchParams();
      q.set("text", area.value);
      var cat = form && form.querySelector("input[name=category]:checked");
      if (cat) { q.set("category", cat.value); }
      var tr = form && form.querySelector("input[name=transliterate]");
      if (tr) { q.set("transliterate", tr.checked ? "1" : "0"); }
      var ln = form && form.querySelector("select[name=line]");
      if (ln && ln.value) { q.set("line", ln.value); }  // the STOP mention names that line's number
      var mine = ++asked;
      fetch(previewUrl + "?" + q.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || mine !== asked) { return; }
          out.textContent = data.line;
          data.notes.forEach(function (note) {
            var span = document.createElement("span");
            span.className = "ucs2";
            span.textContent = " \u00B7 " + note;
            out.appendChild(span);
          });
          out.classList.toggle("over", data.over);
          out.setAttribute("data-segments", String(data.segments));
          out.setAttribute("data-encoding", data.encoding);
        })
        .catch(function () { /* the local count stays */ });
    };
    var both = function () {
      update();
      if (previewUrl && area.value) { clearTimeout(timer); timer = setTimeout(preview, 200); }
    };
    area.addEventListener("input", both);
    document.addEventListener("change", both);
    both();
  }
  $all("textarea[data-counter]").forEach(bindCounter);

  /* Template picker fills a textarea */
  $all("select[data-fill]").forEach(function (select) {
    select.addEventListener("change", function () {
      var area = $(select.getAttribute("data-fill"));
      var opt = select.options[select.selectedIndex];
      if (area && opt && opt.getAttribute("data-text") !== null) {
        area.value = opt.getAttribute("data-text");
        area.dispatchEvent(new Event("input"));
      }
    });
  });

  /* Live updates: <div data-poll="/url" data-after="123" data-mode="append|replace|prepend"> polls the
     URL for {"html": "...", "after": n}; the html was rendered (and escaped) by the server. */
  function poll(el) {
    var url = el.getAttribute("data-poll");
    var mode = el.getAttribute("data-mode") || "replace";
    var busy = false;
    function tick() {
      if (busy || document.hidden) { return; }
      busy = true;
      var after = el.getAttribute("data-after");
      var u = url + (url.indexOf("?") < 0 ? "?" : "&") + (after ? "after=" + encodeURIComponent(after) : "");
      fetch(u, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { if (r.status === 401) { window.location.reload(); } return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          if (data.html) {
            var stick = el.scrollTop + el.clientHeight >= el.scrollHeight - 30;
            if (mode === "append") { el.insertAdjacentHTML("beforeend", data.html); }
            else if (mode === "prepend") { el.insertAdjacentHTML("afterbegin", data.html); }
            else { el.innerHTML = data.html; }
            if (mode === "append" && stick) { el.scrollTop = el.scrollHeight; }
          }
          if (data.after !== undefined && data.after !== null) { el.setAttribute("data-after", String(data.after)); }
          if (data.done) { clearInterval(timer); }
        })
        .catch(function () { /* the box may be restarting: try again next tick */ })
        .then(function () { busy = false; });
    }
    var timer = setInterval(tick, pollMs);
  }
  $all("[data-poll]").forEach(poll);
  $all(".conversation").forEach(function (c) { c.scrollTop = c.scrollHeight; });

  /* Unread badge: the menu's count, the dashboard tile and the page title follow new messages */
  var unreadUrl = body.getAttribute("data-unread-url");
  if (unreadUrl) {
    var baseTitle = document.title.replace(/^\(\d+\) /, "");
    setInterval(function () {
      if (document.hidden) { return; }
      fetch(unreadUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var n = data.unread || 0;
          $all("[data-unread]").forEach(function (el) {
            el.textContent = data.label && el.hasAttribute("data-unread-figure") ? data.label : String(n);
            if (!el.hasAttribute("data-unread-figure")) { el.hidden = n === 0; }
          });
          document.title = (n ? "(" + n + ") " : "") + baseTitle;
        })
        .catch(function () {});
    }, pollMs);
  }

  /* Live states: any [data-states-url] element whose [data-message-id] children hold a .state badge
     (Sent rows, conversation bubbles) has the badges of unfinished messages refreshed. */
  $all("[data-states-url]").forEach(function (box) {
    var url = box.getAttribute("data-states-url");
    setInterval(function () {
      if (document.hidden) { return; }
      var items = $all("[data-message-id]", box).filter(function (el) {
        var badge = $(".state", el);
        return badge && /state-(scheduled|queued|sending|sent)\b/.test(badge.className);
      });
      if (!items.length) { return; }
      var ids = items.map(function (el) { return el.getAttribute("data-message-id"); }).join(",");
      fetch(url + "?ids=" + ids, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          items.forEach(function (el) {
            var s = data.states[el.getAttribute("data-message-id")];
            var badge = $(".state", el);
            if (s && badge) { badge.className = "state state-" + s.state; badge.textContent = s.label; }
          });
        })
        .catch(function () {});
    }, pollMs);
  });

  /* Type-ahead recipients: <div class="typeahead" data-source="/recipients/search"> with an input,
     a <ul class="suggestions">, and a .chips container receiving hidden inputs. */
  function bindTypeahead(box) {
    var input = $("input[type=search], input[type=text]", box);
    var list = $("ul.suggestions", box);
    var chips = $(box.getAttribute("data-chips")) || $(".chips", box);
    var source = box.getAttribute("data-source");
    var timer = null, items = [], active = -1;
    function close() { list.innerHTML = ""; list.classList.add("hidden"); items = []; active = -1; }
    function add(item) {
      var name = item.kind;
      var dup = $all("input[type=hidden]", chips).some(function (h) { return h.name === name && h.value === String(item.value); });
      if (dup) { close(); input.value = ""; return; }
      var chip = document.createElement("span");
      chip.className = "chip";
      var label = document.createElement("span");
      label.textContent = item.label;
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = name; hidden.value = item.value;
      var remove = document.createElement("button");
      remove.type = "button"; remove.textContent = "\u00D7"; remove.setAttribute("aria-label", "remove");
      remove.addEventListener("click", function () { chip.remove(); });
      chip.appendChild(label); chip.appendChild(hidden); chip.appendChild(remove);
      chips.appendChild(chip);
      input.value = "";
      close();
      input.focus();
    }
    function show(found) {
      list.innerHTML = "";
      items = found;
      active = -1;
      found.forEach(function (item, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.textContent = item.label + (item.sub ? " \u2014 " + item.sub : "");
        if (item.disabled) {
          // An empty group cannot be chosen: shown greyed, with the reason as its title.
          li.className = "disabled"; li.setAttribute("aria-disabled", "true");
          if (item.why) { li.title = item.why; }
          li.addEventListener("mousedown", function (ev) { ev.preventDefault(); });
        } else {
          li.addEventListener("mousedown", function (ev) { ev.preventDefault(); add(items[i]); });
        }
        list.appendChild(li);
      });
      list.classList.toggle("hidden", found.length === 0);
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 1) { close(); return; }
      timer = setTimeout(function () {
        fetch(source + "?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { results: [] }; })
          .then(function (data) { if (input.value.trim() === q) { show(data.results || []); } });
      }, 150);
    });
    input.addEventListener("keydown", function (ev) {
      var lis = $all("li", list);
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        if (!lis.length) { return; }
        ev.preventDefault();
        active = (active + (ev.key === "ArrowDown" ? 1 : lis.length - 1)) % lis.length;
        lis.forEach(function (li, i) { li.setAttribute("aria-selected", i === active ? "true" : "false"); });
      } else if (ev.key === "Enter") {
        if (active >= 0 && items[active]) { ev.preventDefault(); if (!items[active].disabled) { add(items[active]); } }
        else if (box.hasAttribute("data-free") && input.value.trim()) {
          ev.preventDefault();
          add({ kind: box.getAttribute("data-free"), value: input.value.trim(), label: input.value.trim() });
        }
      } else if (ev.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    close();
  }
  $all(".typeahead[data-source]").forEach(bindTypeahead);

  /* Chips already on the page (re-rendered form) can be removed too */
  $all(".chip button").forEach(function (b) { b.addEventListener("click", function () { b.parentNode.remove(); }); });

  /* Small helper for scripted posts (same CSRF token as forms) */
  window.gatewaydPost = function (url, data) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(data || {}) });
  };
})();
