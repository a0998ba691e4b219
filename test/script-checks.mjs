/**
 * Pass/fail bookkeeping of the script-style test runners (`test:browser`, `test:package`): a
 * failed check prints its message and the run goes on, so one run reports every failure; `finish`
 * prints the verdict with the elapsed time and exits non-zero when anything failed.
 */
export function scriptChecks(name) {
  const started = Date.now();
  let failures = 0;
  let passes = 0;
  return {
    check(ok, message) {
      if (ok) passes++;
      else {
        failures++;
        console.log(`  FAIL ${message}`);
      }
      return ok;
    },
    finish() {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (failures > 0) {
        console.log(`${name} FAILED: ${failures} check(s) failed (${seconds} s)`);
        process.exit(1);
      }
      console.log(`${name} passed: ${passes} checks (${seconds} s)`);
    },
  };
}

/** Runs a runner's `main`, exiting non-zero with the error when it throws. */
export function runMain(main) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
