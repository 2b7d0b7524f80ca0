// Solves the poll service's proof-of-work challenge (ALTCHA's v1 format) off the
// page's main thread: finds n in 0..maxNumber with SHA-256(salt + n) = challenge.
// Posts {number} when found, or {number: null} if no number matches.
"use strict";

var BATCH = 256; // digests in flight at once: crypto.subtle is asynchronous

function bytesFromHex(hex) {
  var bytes = new Uint8Array(hex.length / 2);
  for (var i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
  return bytes;
}

function equal(buffer, expected) {
  var bytes = new Uint8Array(buffer);
  for (var i = 0; i < expected.length; i++) if (bytes[i] !== expected[i]) return false;
  return true;
}

self.onmessage = async function (event) {
  var task = event.data;
  var expected = bytesFromHex(task.challenge);
  var encoder = new TextEncoder();
  for (var start = 0; start <= task.maxNumber; start += BATCH) {
    var end = Math.min(start + BATCH - 1, task.maxNumber);
    var digests = [];
    for (var n = start; n <= end; n++) {
      digests.push(crypto.subtle.digest("SHA-256", encoder.encode(task.salt + n)));
    }
    var hashes = await Promise.all(digests);
    for (var i = 0; i < hashes.length; i++) {
      if (equal(hashes[i], expected)) {
        self.postMessage({ number: start + i });
        return;
      }
    }
  }
  self.postMessage({ number: null });
};
