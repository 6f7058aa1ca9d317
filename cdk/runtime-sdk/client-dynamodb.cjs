// The runtime's @aws-sdk/client-dynamodb through require() (cdk/constructs/lambda-bundling.ts).
const name = '@aws-sdk/client-dynamodb';
module.exports = require(name);
