/** Layer rules (docs/architecture.md): the core does no I/O and knows no adapter or SDK. */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-no-adapter',
      comment: 'functions/core is pure: it may import only itself, node:crypto and canonicalize.',
      severity: 'error',
      from: { path: '^functions/core/' },
      to: { pathNot: ['^functions/core/', '^node_modules/canonicalize/', '^crypto$'] },
    },
    {
      name: 'core-uses-no-io-builtins',
      comment: 'No file system, network or process access in the core.',
      severity: 'error',
      from: { path: '^functions/core/' },
      to: { dependencyTypes: ['core'], pathNot: ['^crypto$'] },
    },
    {
      name: 'adapters-do-not-import-the-edge',
      comment: 'Adapters implement ports; they never reach up into HTTP, handlers or the local server.',
      severity: 'error',
      from: { path: '^functions/adapters/' },
      to: { path: '^functions/(http|handlers|local|cli)/' },
    },
    {
      name: 'client-loads-no-server-code',
      comment:
        'The agent SDK is a package of its own with no dependencies: it imports only itself, not even types from the server or an npm package (its published declarations would need them).',
      severity: 'error',
      from: { path: '^client/' },
      to: { pathNot: '^client/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'functions-do-not-import-tests',
      severity: 'error',
      from: { path: '^(functions|cdk|client)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Build output (dist/, client/dist/) is checked through its sources.
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
