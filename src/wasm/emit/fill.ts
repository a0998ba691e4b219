// Kernel family `fill`: set a float32 range of memory to one value (zeroed scratch, padded rows).
import { f32, i32 } from './emit.js';
import type { KernelFamily } from './family.js';

export const fillFamily: KernelFamily = {
  name: 'fill',
  emit(module) {
    module.addFunction('fill_f32', [i32, i32, f32], [], (f) => {
      const [ptr, count, value] = [0, 1, 2];
      const end = f.local(i32);
      const vecEnd = f.local(i32);
      const splat = f.local(0x7b);
      // end = ptr + 4·count; vecEnd = ptr + 16·floor(count / 4)
      f.get(ptr).get(count).i32Const(2).i32Shl().i32Add().set(end);
      f.get(ptr).get(count).i32Const(-4).i32And().i32Const(2).i32Shl().i32Add().set(vecEnd);
      f.get(value).f32x4Splat().set(splat);
      // four at a time
      f.block().loop();
      f.get(ptr).get(vecEnd).i32GeU().brIf(1);
      f.get(ptr).get(splat).v128Store();
      f.get(ptr).i32Const(16).i32Add().set(ptr);
      f.br(0).end().end();
      // the last 0..3
      f.block().loop();
      f.get(ptr).get(end).i32GeU().brIf(1);
      f.get(ptr).get(value).f32Store();
      f.get(ptr).i32Const(4).i32Add().set(ptr);
      f.br(0).end().end();
    });
  },
};
