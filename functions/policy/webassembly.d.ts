/**
 * The WebAssembly JS API as far as the policy engine uses it. The project compiles with
 * `lib: ["ES2023"]` and @types/node 20, neither of which declares the `WebAssembly` global (it
 * lives in lib.dom), while Node provides it at run time. Declared here, narrowly, rather than
 * pulling the DOM typings into server code.
 */
declare global {
  namespace WebAssembly {
    interface MemoryDescriptor {
      initial: number;
      maximum?: number;
      shared?: boolean;
    }

    class Memory {
      constructor(descriptor: MemoryDescriptor);
      readonly buffer: ArrayBuffer;
      grow(delta: number): number;
    }

    class Module {
      constructor(bytes: BufferSource);
    }

    type ExportValue = ((...args: never[]) => unknown) | Memory | { value: unknown };
    type Exports = Record<string, ExportValue>;
    type ImportValue = ((...args: never[]) => unknown) | Memory | number;
    type Imports = Record<string, Record<string, ImportValue>>;

    class Instance {
      constructor(module: Module, imports?: Imports);
      readonly exports: Exports;
    }

    interface WebAssemblyInstantiatedSource {
      instance: Instance;
      module: Module;
    }

    type BufferSource = ArrayBufferView | ArrayBuffer;

    function compile(bytes: BufferSource): Promise<Module>;
    function instantiate(bytes: BufferSource, imports?: Imports): Promise<WebAssemblyInstantiatedSource>;
    function instantiate(module: Module, imports?: Imports): Promise<Instance>;
  }
}

export {};
