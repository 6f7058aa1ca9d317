// The runtime's @aws-sdk/client-resource-groups-tagging-api through require() (cdk/constructs/lambda-bundling.ts).
const name = '@aws-sdk/client-resource-groups-tagging-api';
module.exports = require(name);
