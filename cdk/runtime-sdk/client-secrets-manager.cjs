// The runtime's @aws-sdk/client-secrets-manager through require() (cdk/constructs/lambda-bundling.ts).
const name = '@aws-sdk/client-secrets-manager';
module.exports = require(name);
