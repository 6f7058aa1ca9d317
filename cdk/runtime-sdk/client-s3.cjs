// The runtime's @aws-sdk/client-s3 through require() (cdk/constructs/lambda-bundling.ts).
const name = '@aws-sdk/client-s3';
module.exports = require(name);
