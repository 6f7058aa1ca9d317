// The runtime's @aws-sdk/client-sts through require() (cdk/constructs/lambda-bundling.ts).
const name = '@aws-sdk/client-sts';
module.exports = require(name);
