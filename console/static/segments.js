/* SMS segment counter: a line-by-line mirror of gatewayd/modem/segments.py and gsm7.py.
   tests/console/test_browser.py runs both on the same table of texts and compares. */
(function (root) {
  "use strict";
  // The 3GPP TS 23.038 tables, written with \u escapes so the file means the same in any encoding.
  var BASIC = "@\u00A3$\u00A5\u00E8\u00E9\u00F9\u00EC\u00F2\u00C7\u000A\u00D8\u00F8\u000D\u00C5\u00E5" +
    "\u0394_\u03A6\u0393\u039B\u03A9\u03A0\u03A8\u03A3\u0398\u039E\u001B\u00C6\u00E6\u00DF\u00C9" +
    " !\"#\u00A4%&'()*+,-./" +
    "0123456789:;<=>?" +
    "\u00A1ABCDEFGHIJKLMNO" +
    "PQRSTUVWXYZ\u00C4\u00D6\u00D1\u00DC\u00A7" +
    "\u00BFabcdefghijklmno" +
    "pqrstuvwxyz\u00E4\u00F6\u00F1\u00FC\u00E0";
  var EXTENSION = "\u000C^{}\\[~]|\u20AC";
  var SINGLE = { "GSM-7": 160, "UCS-2": 70 };
  var MULTI_8BIT_REF = { "GSM-7": 153, "UCS-2": 67 };
  var basic = new Set(), ext = new Set();
  Array.from(BASIC).forEach(function (c) { if (c !== "\u001B") { basic.add(c); } });
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
