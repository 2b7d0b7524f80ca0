// Checking a receipt against a poll's public ledger, in the browser, from
// static files only (docs/ledger.md): the checkpoint's Ed25519 signature
// (WebCrypto), the entry under the receipt, its inclusion proof up to the
// signed root (RFC 9162, from C2SP tlog-tiles), and, on a later visit, the
// consistency proof from the checkpoint this browser saw last (localStorage
// keeps that size and root, never the receipt). Every failure says what is
// wrong. The same checks, and a full recount, are in campaign_model/ledger.
(function () {
  "use strict";

  var form = document.querySelector("form[data-ledger-check]");
  if (!form || !window.crypto || !window.crypto.subtle || !window.fetch || !window.TextDecoder) {
    return; // the page explains how to check without this script
  }
  var result = document.getElementById("ledger-result");
  var WIDTH = 256;
  var CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  var decoder = new TextDecoder("utf-8", { fatal: true });
  var encoder = new TextEncoder();

  function Problem(message) { this.message = message; }

  // --- bytes -------------------------------------------------------------------------
  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }
  function fromBase64(text) {
    var binary = atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }
  function concat(parts) {
    var size = parts.reduce(function (n, p) { return n + p.length; }, 0);
    var out = new Uint8Array(size);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }
  function same(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // A receipt typed back: Crockford base32 (any case, dashes and spaces ignored,
  // O read as 0 and I, L as 1) or 32 hex digits; null if it is neither.
  function parseReceipt(text) {
    var cleaned = text.replace(/[\s-]/g, "").toUpperCase();
    if (/^[0-9A-F]{32}$/.test(cleaned)) return cleaned.toLowerCase();
    cleaned = cleaned.replace(/O/g, "0").replace(/[IL]/g, "1");
    if (cleaned.length !== 26) return null;
    var value = 0n;
    for (var i = 0; i < cleaned.length; i++) {
      var digit = CROCKFORD.indexOf(cleaned[i]);
      if (digit < 0) return null;
      value = (value << 5n) | BigInt(digit);
    }
    if (value >> 128n) return null;
    return value.toString(16).padStart(32, "0");
  }

  // --- RFC 6962 hashing --------------------------------------------------------------
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  function leafHash(entry) { return sha256(concat([new Uint8Array([0]), entry])); }
  function nodeHash(left, right) { return sha256(concat([new Uint8Array([1]), left, right])); }
  function splitPoint(size) { var k = 1; while (k * 2 < size) k *= 2; return k; }

  async function rootOf(hashes) {
    if (hashes.length === 1) return hashes[0];
    var k = splitPoint(hashes.length);
    return nodeHash(await rootOf(hashes.slice(0, k)), await rootOf(hashes.slice(k)));
  }

  // --- C2SP tlog-tiles ---------------------------------------------------------------
  function encodeIndex(index) {
    var groups = [];
    do { groups.unshift(String(index % 1000).padStart(3, "0")); index = Math.floor(index / 1000); }
    while (index > 0);
    return groups.map(function (g, i) { return i < groups.length - 1 ? "x" + g : g; }).join("/");
  }
  function tilePath(level, index, width) {
    return "tile/" + level + "/" + encodeIndex(index) + (width === WIDTH ? "" : ".p/" + width);
  }

  async function fetchBytes(url) {
    var response = await fetch(url, { cache: "no-cache" });
    if (!response.ok) throw new Problem(url + " is not published (" + response.status + ").");
    return new Uint8Array(await response.arrayBuffer());
  }

  // The hashes of a tree of `size` leaves, read from its tiles as needed.
  function Tiles(prefix, size) {
    this.prefix = prefix;
    this.size = size;
    this.cache = {};
  }
  Tiles.prototype.tile = async function (level, index) {
    var key = level + "/" + index;
    if (!this.cache[key]) {
      var complete = Math.floor(this.size / Math.pow(WIDTH, level));
      var width = Math.min(WIDTH, complete - index * WIDTH);
      var path = tilePath(level, index, width);
      var data = await fetchBytes(this.prefix + path);
      if (data.length !== width * 32) {
        throw new Problem(path + " holds " + data.length / 32 + " hashes; the signed tree needs " + width + ".");
      }
      var hashes = [];
      for (var i = 0; i < width; i++) hashes.push(data.slice(i * 32, i * 32 + 32));
      this.cache[key] = hashes;
    }
    return this.cache[key];
  };
  // The root of the perfect subtree of 2^height leaves from leaf index * 2^height.
  Tiles.prototype.node = async function (height, index) {
    var level = Math.floor(height / 8);
    var below = height % 8;
    var first = index * Math.pow(2, below);
    var tile = await this.tile(level, Math.floor(first / WIDTH));
    var offset = first % WIDTH;
    return rootOf(tile.slice(offset, offset + Math.pow(2, below)));
  };
  Tiles.prototype.rangeHash = async function (start, end) {
    var size = end - start;
    if ((size & (size - 1)) === 0 && start % size === 0) {
      return this.node(Math.log2(size), start / size);
    }
    var k = splitPoint(size);
    return nodeHash(await this.rangeHash(start, start + k), await this.rangeHash(start + k, end));
  };

  // RFC 6962 PATH and PROOF, built from any rangeHash.
  async function inclusionProof(index, size, tiles) {
    var proof = [];
    var start = 0;
    var end = size;
    while (end - start > 1) {
      var k = splitPoint(end - start);
      if (index < start + k) { proof.push(await tiles.rangeHash(start + k, end)); end = start + k; }
      else { proof.push(await tiles.rangeHash(start, start + k)); start += k; }
    }
    return proof.reverse();
  }
  async function consistencyProof(m, start, end, whole, tiles) {
    var n = end - start;
    if (m === n) return whole ? [] : [await tiles.rangeHash(start, end)];
    var k = splitPoint(n);
    if (m <= k) {
      return (await consistencyProof(m, start, start + k, whole, tiles)).concat([await tiles.rangeHash(start + k, end)]);
    }
    return (await consistencyProof(m - k, start + k, end, false, tiles)).concat([await tiles.rangeHash(start, start + k)]);
  }

  // RFC 9162 section 2.1.3.2 and 2.1.4.2.
  async function rootFromInclusion(index, size, leaf, proof) {
    var fn = index;
    var sn = size - 1;
    var r = leaf;
    for (var i = 0; i < proof.length; i++) {
      if (sn === 0) return null;
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(proof[i], r);
        if (fn % 2 === 0) { while (fn !== 0 && fn % 2 === 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
      } else {
        r = await nodeHash(r, proof[i]);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }
  async function consistent(m, n, oldRoot, newRoot, proof) {
    if (m === n) return proof.length === 0 && same(oldRoot, newRoot);
    var path = proof.slice();
    if ((m & (m - 1)) === 0) path.unshift(oldRoot);
    if (!path.length) return false;
    var fn = m - 1;
    var sn = n - 1;
    while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    var fr = path[0];
    var sr = path[0];
    for (var i = 1; i < path.length; i++) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        fr = await nodeHash(path[i], fr);
        sr = await nodeHash(path[i], sr);
        if (fn % 2 === 0) { while (fn !== 0 && fn % 2 === 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
      } else {
        sr = await nodeHash(sr, path[i]);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && same(fr, oldRoot) && same(sr, newRoot);
  }

  // --- the signed checkpoint (C2SP signed-note, tlog-checkpoint) ---------------------
  async function keyId(name, type, publicKey) {
    return (await sha256(concat([encoder.encode(name + "\n"), new Uint8Array([type]), publicKey]))).slice(0, 4);
  }
  async function parseVerifierKey(line) {
    var parts = line.split("+");
    var name = parts[0];
    var raw = fromBase64(parts.slice(2).join("+"));
    if (parts.length < 3 || raw.length !== 33 || raw[0] !== 1) return null;
    var id = await keyId(name, 1, raw.slice(1));
    if (hex(id) !== parts[1]) return null;
    return { name: name, id: id, publicKey: raw.slice(1), text: line };
  }
  async function verifyEd25519(publicKey, signature, message) {
    var key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  }
  async function openCheckpoint(text, keys) {
    var split = text.lastIndexOf("\n\n");
    if (split < 0) throw new Problem("The checkpoint is not a signed note.");
    var body = text.slice(0, split + 1);
    var lines = body.split("\n");
    var checkpoint = { origin: lines[0], size: Number(lines[1]), root: fromBase64(lines[2]), body: body };
    var signatures = text.slice(split + 2).split("\n").filter(Boolean).map(function (line) {
      var at = line.lastIndexOf(" ");
      var raw = fromBase64(line.slice(at + 1));
      return { name: line.slice(2, at), id: raw.slice(0, 4), signature: raw.slice(4) };
    });
    for (var k = 0; k < keys.length; k++) {
      for (var s = 0; s < signatures.length; s++) {
        var sig = signatures[s];
        if (sig.name !== keys[k].name || !same(sig.id, keys[k].id)) continue;
        var ok;
        try {
          ok = await verifyEd25519(keys[k].publicKey, sig.signature, encoder.encode(body));
        } catch (error) {
          checkpoint.unchecked = true; // this browser has no Ed25519 in WebCrypto
          return checkpoint;
        }
        if (!ok) throw new Problem("The checkpoint's signature by " + keys[k].name + " does not match its text: the checkpoint was altered.");
        checkpoint.key = keys[k];
        return checkpoint;
      }
    }
    var by = signatures.map(function (s) { return s.name + "+" + hex(s.id); }).join(", ");
    throw new Problem("The checkpoint is not signed by our key (" + keys.map(function (k) { return k.text.split("+").slice(0, 2).join("+"); }).join(", ") + "); it is signed by " + by + ".");
  }

  // --- entries --------------------------------------------------------------------------
  function decodeBundle(data) {
    var entries = [];
    var at = 0;
    while (at < data.length) {
      if (at + 2 > data.length) throw new Problem("An entry bundle ends in the middle of a length.");
      var length = (data[at] << 8) | data[at + 1];
      at += 2;
      entries.push(data.slice(at, at + length));
      at += length;
    }
    return entries;
  }

  // --- the check --------------------------------------------------------------------
  function say(lines, good) {
    result.textContent = "";
    result.className = "ledger-check__result " + (good ? "ledger-check__result--ok" : "ledger-check__result--problem");
    lines.forEach(function (line) {
      var p = document.createElement("p");
      p.textContent = line;
      result.appendChild(p);
    });
  }

  async function check(poll, receipt) {
    var prefix = "/ledger/" + encodeURIComponent(poll) + "/";
    var report = [];
    var keyLines = decoder.decode(await fetchBytes("/ledger/keys.txt")).split("\n").filter(function (l) {
      return l && l[0] !== "#";
    });
    var keys = (await Promise.all(keyLines.map(parseVerifierKey))).filter(Boolean);
    var pinned = localStorage.getItem("ledger-key");
    if (pinned && !keys.some(function (k) { return k.text === pinned; })) {
      report.push("Note: the site no longer lists the key this browser saw before (" + pinned + ").");
      keys = [await parseVerifierKey(pinned)];
    }
    var checkpoint = await openCheckpoint(decoder.decode(await fetchBytes(prefix + "checkpoint")), keys);
    if (checkpoint.unchecked) {
      report.push("This browser cannot check Ed25519 signatures (Chrome 137, Firefox 129 and Safari 17 can), so the checkpoint's signature was NOT checked. Everything else below was.");
    } else {
      report.push("The checkpoint (" + checkpoint.size + " entries) is signed with our key " + checkpoint.key.text.split("+").slice(0, 2).join("+") + ": signature verified.");
    }
    var tiles = new Tiles(prefix, checkpoint.size);

    var found = null;
    for (var first = 0; first < checkpoint.size && !found; first += WIDTH) {
      var width = Math.min(WIDTH, checkpoint.size - first);
      var path = tilePath("entries", first / WIDTH, width);
      var bundle = decodeBundle(await fetchBytes(prefix + path));
      if (bundle.length !== width) {
        throw new Problem(path + " holds " + bundle.length + " entries; the signed tree needs " + width + " there (an entry was dropped or added).");
      }
      for (var i = 0; i < bundle.length; i++) {
        var fields = decoder.decode(bundle[i]).split("\t");
        if (fields[0] === "ballot" && fields[4] === receipt) {
          found = { position: first + i, entry: bundle[i], fields: fields };
          break;
        }
      }
    }
    if (!found) {
      throw new Problem("Your receipt is not among the ledger's " + checkpoint.size + " entries. If you voted within the last hour or so, its batch may not be sealed yet: try again later.");
    }
    var leaf = await leafHash(found.entry);
    var levelZero = await tiles.tile(0, Math.floor(found.position / WIDTH));
    var published = levelZero[found.position % WIDTH];
    if (!same(leaf, published)) {
      var elsewhere = levelZero.findIndex(function (h) { return same(h, leaf); });
      if (elsewhere >= 0) {
        throw new Problem("The entry with your receipt is at position " + found.position + ", but the signed tree holds it at " + (Math.floor(found.position / WIDTH) * WIDTH + elsewhere) + ": the entries were reordered.");
      }
      throw new Problem("The entry with your receipt (position " + found.position + ") was changed: its hash is not the one in the signed tree.");
    }
    var proof = await inclusionProof(found.position, checkpoint.size, tiles);
    var root = await rootFromInclusion(found.position, checkpoint.size, leaf, proof);
    if (!root || !same(root, checkpoint.root)) {
      throw new Problem("The tree's hashes do not lead from your entry to the signed root: the published tree was changed.");
    }
    report.push("Your vote is in the ledger: entry " + found.position + ", a vote for \u201c" + found.fields[3] + "\u201d in batch " + found.fields[2] + ". Its inclusion proof (" + proof.length + " hashes) leads to the signed root.");

    var seen = JSON.parse(localStorage.getItem("ledger-checkpoint:" + checkpoint.origin) || "null");
    if (seen && seen.size > checkpoint.size) {
      throw new Problem("The ledger shrank: on your last visit it had " + seen.size + " entries, now " + checkpoint.size + ".");
    }
    if (seen && seen.size > 0) {
      var oldRoot = fromBase64(seen.root);
      var steps = await consistencyProof(seen.size, 0, checkpoint.size, true, tiles);
      if (!(await consistent(seen.size, checkpoint.size, oldRoot, checkpoint.root, steps))) {
        throw new Problem("The ledger no longer extends the checkpoint you saw on your last visit (" + seen.size + " entries): entries published then were changed or removed.");
      }
      report.push("Nothing published before your last visit (" + seen.size + " entries) was changed or removed: consistency proof verified.");
    }
    if (!checkpoint.unchecked) {
      localStorage.setItem("ledger-checkpoint:" + checkpoint.origin, JSON.stringify({ size: checkpoint.size, root: btoa(String.fromCharCode.apply(null, checkpoint.root)) }));
      localStorage.setItem("ledger-key", checkpoint.key.text);
    }
    return report;
  }

  form.hidden = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var receipt = parseReceipt(form.elements.receipt.value);
    if (!receipt) {
      say(["That is not a receipt: a receipt has 26 letters and digits (or 32 hex digits)."], false);
      form.elements.receipt.focus();
      return;
    }
    say(["Checking\u2026"], true);
    check(form.elements.poll.value, receipt).then(function (lines) {
      say(lines, true);
    }, function (error) {
      say(["Problem: " + (error instanceof Problem ? error.message : "the check could not finish (" + error + ")")], false);
    });
  });
})();
