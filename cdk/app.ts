/**
 * `npx cdk deploy` entry (cdk.json). Region from `--context region=us-gov-west-1` or the CLI's
 * environment; see docs/aws.md.
 */
import { buildGatewayApp } from './gateway-app.ts';

buildGatewayApp();
