// Type declarations for the parts of ndarray-ops (which ships none) that the tests use.
declare module 'ndarray-ops' {
  import type { NdArray } from 'ndarray';
  type Nd = NdArray;
  const ops: {
    assign(dest: Nd, src: Nd): void;
    assigns(dest: Nd, value: number): void;
    addeq(dest: Nd, src: Nd): void;
    addseq(dest: Nd, value: number): void;
    muls(dest: Nd, src: Nd, value: number): void;
    mulseq(dest: Nd, value: number): void;
    maxseq(dest: Nd, value: number): void;
    minseq(dest: Nd, value: number): void;
    equals(a: Nd, b: Nd): boolean;
    sup(a: Nd): number;
    inf(a: Nd): number;
  };
  export default ops;
}
