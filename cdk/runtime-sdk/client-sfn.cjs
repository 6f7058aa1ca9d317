// The runtime's @aws-sdk/client-sfn through require() (cdk/constructs/lambda-bundling.ts).
const name = '@aws-sdk/client-sfn';
module.exports = require(name);
