/**
 * The import boundaries of the code (docs/architecture.md "Where code lives"), checked by `npm run lint:deps` inside
 * `npm test`. test/unit/boundaries.test.ts runs these rules on a small fixture tree and proves each one fires.
 *
 *   shared/domain    pure: no adapter, no AWS SDK, no CDK, no infra, no function, no HTTP edge, logger, config or
 *                    wiring; route contracts only as types (`import type`)
 *   shared/*         never imports a function's folder (functions/<name>/ are entry points, not libraries)
 *   infra            never imports functions/ (the CDK code names handler files by path, it does not import them)
 *   functions/<a>    never imports functions/<b>: what two functions share lives in shared/
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-not-adapters',
      comment: 'shared/domain is pure: it talks to the world through its ports; adapters implement them',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { path: '^shared/adapters/' },
    },
    {
      name: 'domain-not-aws',
      comment: 'shared/domain never imports an AWS SDK client, the CDK or constructs',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { path: '(^|/)node_modules/(@aws-sdk/|aws-cdk-lib/|aws-cdk/|constructs/|@aws-lambda-powertools/)' },
    },
    {
      name: 'domain-not-infra',
      comment: 'shared/domain never imports infrastructure code',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { path: '^infra/' },
    },
    {
      name: 'domain-not-edge',
      comment: 'shared/domain never imports the HTTP edge, the logger, the configuration reader or the wiring',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { path: '^shared/(http|observability|config|wiring)/' },
    },
    {
      name: 'domain-contract-types-only',
      comment: 'shared/domain may name a route contract type, never run contract code',
      severity: 'error',
      from: { path: '^shared/domain/' },
      to: { path: '^shared/contracts/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'infra-not-functions',
      comment: 'infra names handler files by path; it never imports anything under functions/',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: '^functions/' },
    },
    {
      name: 'function-not-other-function',
      comment: 'a function imports only its own folder and shared/; what two functions share lives in shared/',
      severity: 'error',
      from: { path: '^functions/([^/]+)/' },
      to: { path: '^functions/', pathNot: '^functions/$1/' },
    },
    {
      name: 'shared-not-functions',
      comment: 'shared/ never imports a function folder',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: '^functions/' },
    },
    {
      name: 'not-unresolvable',
      comment: 'an import the checker cannot resolve would slip past every rule above',
      severity: 'error',
      from: { path: '^(shared|functions|infra)/' },
      // aws-lambda is types only (@types/aws-lambda): there is no code to resolve
      to: { couldNotResolve: true, pathNot: '^aws-lambda$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(cdk\\.out|\\.envwatch)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
