import assert from "node:assert/strict";
import {
  cpuToCores,
  formatCpu,
  formatMemGiB,
  isExactCpu,
  memToGiB,
  parseQuantity,
  QuantityError,
} from "./quantity.ts";

Deno.test("parseQuantity reads every suffix", () => {
  assert.equal(parseQuantity("250m"), 0.25);
  assert.equal(parseQuantity("2"), 2);
  assert.equal(parseQuantity("0.5"), 0.5);
  assert.equal(parseQuantity(".5"), 0.5);
  assert.equal(parseQuantity("1.5Gi"), 1.5 * 2 ** 30);
  assert.equal(parseQuantity("512Mi"), 512 * 2 ** 20);
  assert.equal(parseQuantity("1Ki"), 1024);
  assert.equal(parseQuantity("1Ti"), 2 ** 40);
  assert.equal(parseQuantity("1Ei"), 2 ** 60);
  assert.equal(parseQuantity("100k"), 100000);
  assert.equal(parseQuantity("100K"), 100000);
  assert.equal(parseQuantity("1.1M"), 1100000);
  assert.equal(parseQuantity("3G"), 3e9);
  assert.equal(parseQuantity("2T"), 2e12);
  assert.equal(parseQuantity("1P"), 1e15);
  assert.equal(parseQuantity("1E"), 1e18);
  assert.equal(parseQuantity("12500u"), 0.0125);
  assert.equal(parseQuantity("5n"), 5e-9);
  assert.equal(parseQuantity("1e3"), 1000);
  assert.equal(parseQuantity("2E-3"), 0.002);
  assert.equal(parseQuantity(3), 3);
});

Deno.test("parseQuantity rejects garbage with a helpful message", () => {
  for (const bad of ["", "abc", "1.5 Gi", "1Gb", "--1", "1mi"]) {
    assert.throws(() => parseQuantity(bad), QuantityError, bad);
  }
  assert.throws(() => parseQuantity("1Gb"), /not a Kubernetes quantity.*1.5Gi/);
});

Deno.test("cpu and mem convert to the setting units exactly", () => {
  assert.equal(cpuToCores("100m"), 0.1);
  assert.equal(cpuToCores("1100m"), 1.1);
  assert.equal(memToGiB("1536Mi"), 1.5);
  assert.equal(memToGiB("1.1Gi"), 1.1);
  assert.equal(memToGiB("128Mi"), 0.125);
  assert.equal(memToGiB("1G"), 0.931322575);
});

Deno.test("formatCpu writes whole millicores", () => {
  assert.equal(formatCpu(0.25), "250m");
  assert.equal(formatCpu(0.1 + 0.2), "300m");
  assert.equal(formatCpu(2), "2");
  assert.equal(formatCpu(1.5), "1500m");
  assert.equal(formatCpu(0.125), "125m");
  assert.equal(formatCpu(0.0125), "13m");
  assert.ok(isExactCpu(0.125));
  assert.ok(isExactCpu(0.1 + 0.2));
  assert.ok(!isExactCpu(0.0125));
});

Deno.test("formatMemGiB picks the largest whole binary unit", () => {
  assert.equal(formatMemGiB(2), "2Gi");
  assert.equal(formatMemGiB(1.5), "1536Mi");
  assert.equal(formatMemGiB(0.125), "128Mi");
  assert.equal(formatMemGiB(1024), "1Ti");
  assert.equal(formatMemGiB(0.1), "107374182");
  for (const v of [0.5, 0.75, 1.125, 3.875, 8]) {
    assert.equal(memToGiB(formatMemGiB(v)), v);
  }
});
