package stack

import (
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// featureFlags are the feature flags that `cdk init` writes into cdk.json for aws-cdk-lib 2.276.0 (its
// recommended-feature-flags.json). They live in code because `go run` and the tests never read cdk.json:
// this way the CLI, `go run` and the tests synthesize the same template. Revisit them when upgrading
// aws-cdk-lib: a flag added later keeps its old behaviour until it is listed here.
var featureFlags = map[string]any{
	"@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver":                          true,
	"@aws-cdk/aws-apigateway:authorizerChangeDeploymentLogicalId":                                true,
	"@aws-cdk/aws-apigateway:disableCloudWatchRole":                                              true,
	"@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard":                              true,
	"@aws-cdk/aws-apigateway:requestValidatorUniqueId":                                           true,
	"@aws-cdk/aws-appsync:appSyncGraphQLAPIScopeLambdaPermission":                                true,
	"@aws-cdk/aws-appsync:useArnForSourceApiAssociationIdentifier":                               true,
	"@aws-cdk/aws-autoscaling:generateLaunchTemplateInsteadOfLaunchConfig":                       true,
	"@aws-cdk/aws-batch:defaultToAL2023":                                                         true,
	"@aws-cdk/aws-cloudfront:defaultFunctionRuntimeV2_0":                                         true,
	"@aws-cdk/aws-cloudfront:defaultViewerProtocolPolicyRedirectToHttps":                         true,
	"@aws-cdk/aws-cloudwatch-actions:changeLambdaPermissionLogicalIdForLambdaAction":             true,
	"@aws-cdk/aws-codedeploy:removeAlarmsFromDeploymentGroup":                                    true,
	"@aws-cdk/aws-codepipeline-actions:useNewDefaultBranchForCodeCommitSource":                   true,
	"@aws-cdk/aws-codepipeline:crossAccountKeyAliasStackSafeResourceName":                        true,
	"@aws-cdk/aws-codepipeline:crossAccountKeysDefaultValueToFalse":                              true,
	"@aws-cdk/aws-codepipeline:defaultPipelineTypeToV2":                                          true,
	"@aws-cdk/aws-dynamodb:resourcePolicyPerReplica":                                             true,
	"@aws-cdk/aws-dynamodb:retainTableReplica":                                                   true,
	"@aws-cdk/aws-ec2:bastionHostUseAmazonLinux2023ByDefault":                                    true,
	"@aws-cdk/aws-ec2:ebsDefaultGp3Volume":                                                       true,
	"@aws-cdk/aws-ec2:ec2SumTImeoutEnabled":                                                      true,
	"@aws-cdk/aws-ec2:launchTemplateDefaultUserData":                                             true,
	"@aws-cdk/aws-ec2:requirePrivateSubnetsForEgressOnlyInternetGateway":                         true,
	"@aws-cdk/aws-ec2:restrictDefaultSecurityGroup":                                              true,
	"@aws-cdk/aws-ec2:uniqueImdsv2TemplateName":                                                  true,
	"@aws-cdk/aws-ecs-patterns:secGroupsDisablesImplicitOpenListener":                            true,
	"@aws-cdk/aws-ecs-patterns:uniqueTargetGroupId":                                              true,
	"@aws-cdk/aws-ecs:arnFormatIncludesClusterName":                                              true,
	"@aws-cdk/aws-ecs:disableExplicitDeploymentControllerForCircuitBreaker":                      true,
	"@aws-cdk/aws-ecs:reduceEc2FargateCloudWatchPermissions":                                     true,
	"@aws-cdk/aws-ecs:removeDefaultDeploymentAlarm":                                              true,
	"@aws-cdk/aws-ecs:removeEmptyLoadBalancers":                                                  true,
	"@aws-cdk/aws-efs:denyAnonymousAccess":                                                       true,
	"@aws-cdk/aws-efs:mountTargetOrderInsensitiveLogicalId":                                      true,
	"@aws-cdk/aws-eks:defaultToAL2023":                                                           true,
	"@aws-cdk/aws-eks:nodegroupNameAttribute":                                                    true,
	"@aws-cdk/aws-eks:useNativeOidcProvider":                                                     true,
	"@aws-cdk/aws-elasticloadbalancingV2:albDualstackWithoutPublicIpv4SecurityGroupRulesDefault": true,
	"@aws-cdk/aws-elasticloadbalancingv2:networkLoadBalancerWithSecurityGroupByDefault":          true,
	"@aws-cdk/aws-elasticloadbalancingv2:usePostQuantumTlsPolicy":                                true,
	"@aws-cdk/aws-events:eventsTargetQueueSameAccount":                                           true,
	"@aws-cdk/aws-events:requireEventBusPolicySid":                                               true,
	"@aws-cdk/aws-iam:importedRoleStackSafeDefaultPolicyName":                                    true,
	"@aws-cdk/aws-iam:minimizePolicies":                                                          true,
	"@aws-cdk/aws-iam:oidcRejectUnauthorizedConnections":                                         true,
	"@aws-cdk/aws-kms:aliasNameRef":                                                              true,
	"@aws-cdk/aws-kms:applyImportedAliasPermissionsToPrincipal":                                  true,
	"@aws-cdk/aws-kms:reduceCrossAccountRegionPolicyScope":                                       true,
	"@aws-cdk/aws-lambda-nodejs:sdkV3ExcludeSmithyPackages":                                      true,
	"@aws-cdk/aws-lambda-nodejs:useLatestRuntimeVersion":                                         true,
	"@aws-cdk/aws-lambda:createNewPoliciesWithAddToRolePolicy":                                   false,
	"@aws-cdk/aws-lambda:recognizeLayerVersion":                                                  true,
	"@aws-cdk/aws-lambda:useCdkManagedLogGroup":                                                  true,
	"@aws-cdk/aws-opensearchservice:enableOpensearchMultiAzWithStandby":                          true,
	"@aws-cdk/aws-rds:auroraClusterChangeScopeOfInstanceParameterGroupWithEachParameters":        true,
	"@aws-cdk/aws-rds:databaseProxyUniqueResourceName":                                           true,
	"@aws-cdk/aws-rds:preventRenderingDeprecatedCredentials":                                     true,
	"@aws-cdk/aws-rds:setCorrectValueForDatabaseInstanceReadReplicaInstanceResourceId":           true,
	"@aws-cdk/aws-redshift:columnId":                                                             true,
	"@aws-cdk/aws-route53-patterns:useDistribution":                                              true,
	"@aws-cdk/aws-route53-patters:useCertificate":                                                true,
	"@aws-cdk/aws-route53-targets:userPoolDomainNameMethodWithoutCustomResource":                 true,
	"@aws-cdk/aws-s3:createDefaultLoggingPolicy":                                                 true,
	"@aws-cdk/aws-s3:keepNotificationInImportedBucket":                                           false,
	"@aws-cdk/aws-s3:publicAccessBlockedByDefault":                                               true,
	"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy":                                            true,
	"@aws-cdk/aws-s3:setUniqueReplicationRoleName":                                               true,
	"@aws-cdk/aws-secretsmanager:useAttachedSecretResourcePolicyForSecretTargetAttachments":      true,
	"@aws-cdk/aws-signer:signingProfileNamePassedToCfn":                                          true,
	"@aws-cdk/aws-sns-subscriptions:restrictSqsDescryption":                                      true,
	"@aws-cdk/aws-stepfunctions-tasks:enableEmrServicePolicyV2":                                  true,
	"@aws-cdk/aws-stepfunctions-tasks:fixRunEcsTaskPolicy":                                       true,
	"@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2":                                 true,
	"@aws-cdk/core:annotationsInValidationReport":                                                true,
	"@aws-cdk/core:aspectPrioritiesMutating":                                                     true,
	"@aws-cdk/core:cfnIncludeRejectComplexResourceUpdateCreatePolicyIntrinsics":                  true,
	"@aws-cdk/core:checkSecretUsage":                                                             true,
	"@aws-cdk/core:defaultCrossStackReferences":                                                  "weak",
	"@aws-cdk/core:enableAdditionalMetadataCollection":                                           true,
	"@aws-cdk/core:enablePartitionLiterals":                                                      true,
	"@aws-cdk/core:explicitStackTags":                                                            true,
	"@aws-cdk/core:includePrefixInUniqueNameGeneration":                                          true,
	"@aws-cdk/core:target-partitions":                                                            []any{"aws", "aws-cn"},
	"@aws-cdk/core:validateAgainstDefaultRules":                                                  true,
	"@aws-cdk/core:validateSnapshotRemovalPolicy":                                                true,
	"@aws-cdk/custom-resources:logApiResponseDataPropertyTrueDefault":                            false,
	"@aws-cdk/customresources:installLatestAwsSdkDefault":                                        false,
	"@aws-cdk/s3-notifications:addS3TrustKeyPolicyForSnsSubscriptions":                           true,
}

// NewApp returns the CDK app with the feature flags and output settings set in code, and context on
// top: context (lowest), then CDK_CONTEXT_JSON from the CDK CLI, then postCLI (highest, for tests). With
// no CDK_OUTDIR (plain `go run`) the cloud assembly goes to ./cdk.out.
func NewApp(context, postCLI map[string]any) awscdk.App {
	ctx := map[string]any{
		// The CLI turns these on by default; setting them here makes `go run` write the same metadata.
		"aws:cdk:enable-path-metadata":  true,
		"aws:cdk:enable-asset-metadata": true,
	}
	for k, v := range featureFlags {
		ctx[k] = v
	}
	for k, v := range context {
		ctx[k] = v
	}
	props := &awscdk.AppProps{
		Context: &ctx,
		// No AWS::CDK::Metadata resource: the CLI would add it and `go run` would not.
		AnalyticsReporting: jsii.Bool(false),
	}
	if len(postCLI) > 0 {
		props.PostCliContext = &postCLI
	}
	if os.Getenv("CDK_OUTDIR") == "" {
		props.Outdir = jsii.String("cdk.out")
	}
	return awscdk.NewApp(props)
}
