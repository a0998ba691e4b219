/**
 * Registers TensorFlow.js's gradient functions for training benchmarks. tfjs-core's Node bundle
 * leaves them out (the `@tensorflow/tfjs` union package imports `register_all_gradients`), and
 * that module's ES build imports its neighbours without file extensions, which Node's ESM loader
 * does not resolve. A resolve hook scoped to that package adds `.js`; the gradients register in
 * tfjs's global registry, which the Node bundle shares.
 */
import { register } from 'node:module';

const hook = `
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const inTfjs = context.parentURL && context.parentURL.includes('/@tensorflow/tfjs-core/dist/');
    if (inTfjs && specifier.startsWith('.') && !specifier.endsWith('.js')) return next(specifier + '.js', context);
    throw error;
  }
}`;

let registered = false;

export async function registerTfjsGradients() {
  if (registered) return;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  registered = true;
}
