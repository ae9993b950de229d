/* SMS segment counter: a line-by-line mirror of gatewayd/modem/segments.py and gsm7.py.
   tests/console/test_segments_js.py runs both on the same table of texts and compares. */
(function (root) {
  "use strict";
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "\f^{}\\[~]|€";
  var SINGLE = { "GSM-7": 160, "UCS-2": 70 };
  var MULTI_8BIT_REF = { "GSM-7": 153, "UCS-2": 67 };
  var basic = new Set(), ext = new Set();
  Array.from(BASIC).forEach(function (c) { if (c !== "\u001b") { basic.add(c); } });
  Array.from(EXTENSION).forEach(function (c) { ext.add(c); });

  function septetCost(ch) {
    if (basic.has(ch)) { return 1; }
    if (ext.has(ch)) { return 2; }
    return null;
  }

  function count(text) {
    var chars = Array.from(text);          // code points, like Python's str
    var forcing = [], seen = new Set();
    chars.forEach(function (ch) {
      if (septetCost(ch) === null && !seen.has(ch)) { seen.add(ch); forcing.push(ch); }
    });
    var encoding = forcing.length ? "UCS-2" : "GSM-7";
    var costs = chars.map(function (ch) {
      if (encoding === "GSM-7") { return septetCost(ch); }
      return ch.codePointAt(0) > 0xFFFF ? 2 : 1;
    });
    var total = costs.reduce(function (a, b) { return a + b; }, 0);
    var perSegment, used = [];
    if (total <= SINGLE[encoding]) {
      perSegment = SINGLE[encoding];
      used = [total];
    } else {
      perSegment = MULTI_8BIT_REF[encoding];
      var fill = 0;
      costs.forEach(function (cost) {
        if (fill + cost > perSegment) { used.push(fill); fill = 0; }  // never split a character
        fill += cost;
      });
      used.push(fill);
    }
    return {
      encoding: encoding, characters: chars.length, units: total, segments: used.length,
      per_segment: perSegment, remaining: perSegment - used[used.length - 1], ucs2_forcing: forcing
    };
  }

  root.GatewaydSegments = { count: count };
})(typeof window !== "undefined" ? window : globalThis);
