// The runtime's @aws-sdk/util-dynamodb through require() (cdk/constructs/lambda-bundling.ts).
const name = '@aws-sdk/util-dynamodb';
module.exports = require(name);
