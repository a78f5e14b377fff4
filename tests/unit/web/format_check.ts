// Checks of the UI's time formatting and date-input conversion (web/src/format.ts), run by
// test_format_ts.py: bundled with rolldown (the UI's own bundler) and run with node.
import assert from "node:assert/strict";
import { fmtDateTime, fromLocalInput, setSiteZone, toLocalInput, wallToDate, zoneLabel } from "../../../src/safecity/web/src/format";

// a wall-clock time is read in the given zone, whatever the zone of the machine running this
assert.equal(fromLocalInput("2026-07-15T10:00", "Europe/London"), "2026-07-15T09:00:00.000Z"); // BST
assert.equal(fromLocalInput("2026-01-15T10:00", "Europe/London"), "2026-01-15T10:00:00.000Z"); // GMT
assert.equal(fromLocalInput("2026-07-15T10:00", "America/New_York"), "2026-07-15T14:00:00.000Z"); // EDT
assert.equal(fromLocalInput("2026-01-15T10:00", "Asia/Kathmandu"), "2026-01-15T04:15:00.000Z"); // +5:45
assert.equal(fromLocalInput("", "UTC"), null);
assert.equal(fromLocalInput("not a time", "UTC"), null);
// daylight saving, read as the server reads it (zoneinfo, fold=0): 02:30 on the spring-forward night does
// not exist in Rome (the winter offset is used); 02:30 on the fall-back night exists twice (the first)
assert.equal(wallToDate("2026-03-29T01:59", "Europe/Rome")?.toISOString(), "2026-03-29T00:59:00.000Z");
assert.equal(wallToDate("2026-03-29T03:00", "Europe/Rome")?.toISOString(), "2026-03-29T01:00:00.000Z");
assert.equal(wallToDate("2026-03-29T02:30", "Europe/Rome")?.toISOString(), "2026-03-29T01:30:00.000Z");
assert.equal(wallToDate("2026-10-25T02:30", "Europe/Rome")?.toISOString(), "2026-10-25T00:30:00.000Z");
assert.equal(wallToDate("2026-10-25T03:30", "Europe/Rome")?.toISOString(), "2026-10-25T02:30:00.000Z");

// and written back in the same zone (the round trip is exact)
assert.equal(toLocalInput("2026-07-15T09:00:00Z", "Europe/London"), "2026-07-15T10:00");
assert.equal(toLocalInput("2026-07-15T14:00:00Z", "America/New_York"), "2026-07-15T10:00");
assert.equal(toLocalInput("2026-01-15T00:30:00Z", "Asia/Tokyo"), "2026-01-15T09:30");
for (const zone of ["UTC", "Europe/Rome", "America/Sao_Paulo", "Australia/Lord_Howe"]) {
  const iso = "2026-05-03T17:45:00.000Z";
  assert.equal(fromLocalInput(toLocalInput(iso, zone), zone), iso, zone);
}

// shown times carry the zone's label; the site's zone is the default
setSiteZone("Europe/Rome");
assert.equal(fmtDateTime("2026-01-15T09:00:00Z"), "2026-01-15 10:00:00 CET");
assert.equal(fmtDateTime("2026-07-15T09:00:00Z"), "2026-07-15 11:00:00 CEST");
assert.equal(zoneLabel("2026-07-15T09:00:00Z"), "CEST");
assert.equal(toLocalInput("2026-07-15T09:00:00Z"), "2026-07-15T11:00");
console.log("format checks passed");
