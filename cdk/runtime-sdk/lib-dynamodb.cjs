// The runtime's @aws-sdk/lib-dynamodb through require() (cdk/constructs/lambda-bundling.ts).
const name = '@aws-sdk/lib-dynamodb';
module.exports = require(name);
