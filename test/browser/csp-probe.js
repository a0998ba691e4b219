// Checks that the page really runs under the strict CSP the library is tested with: string
// evaluation and inline scripts must both be refused. (The runner expects these violations.)
let evalBlocked = false;
try {
  // eslint-disable-next-line no-new-func
  new Function('return 1')();
} catch (error) {
  evalBlocked = error instanceof EvalError;
}
window.cspProbe = { evalBlocked, inlineScriptRan: window.inlineScriptRan === true };
document.body.dataset.status = 'done';
