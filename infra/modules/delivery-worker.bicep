// The delivery worker on Container Apps: a ServiceBusProcessor host, scaled by KEDA's azure-servicebus rule from
// zero replicas. The scaler authenticates with its own user-assigned identity (it needs Manage rights on the queue);
// the app's identity only sends and receives. The relay password is a Key Vault reference, never a value.

import { relayEndpoint } from 'types.bicep'

@description('Name of the container app.')
param name string

@description('Azure region.')
param location string

@description('Tags (the app also gets the azd service tag).')
param tags object

@description('Resource ID of the Container Apps environment.')
param environmentId string

@description('Image to run; empty on the first provision (azd deploys the real image afterwards).')
param image string

@description('Login server of the container registry.')
param registryServer string

@description('Name of the app identity.')
param identityName string

@description('Name of the Application Insights component (the app identity publishes telemetry to it).')
param applicationInsightsName string

@description('Application Insights connection string (Entra ID authentication only: local auth is off).')
param applicationInsightsConnectionString string

@description('Name of the KEDA scaler identity.')
param scalerIdentityName string

@description('Name of the Service Bus namespace (KEDA metadata).')
param serviceBusName string

@description('Fully qualified Service Bus namespace.')
param serviceBusNamespace string

@description('Name of the delivery queue.')
param queueName string

@description('Blob service endpoint.')
param blobEndpoint string

@description('Table service endpoint.')
param tableEndpoint string

@description('Container of composed outbound messages.')
param outboundContainerName string

@description('Table of message status records.')
param statusTableName string

@description('Table of idempotency keys.')
param idempotencyTableName string

@description('Table of the per-key suppression lists.')
param suppressionTableName string

@description('Table of the event feed across messages.')
param eventFeedTableName string

@description('Table of the webhook endpoints and their delivery state (the dispatcher sends the feed to them).')
param webhookTableName string

@description('Host name of the SMTP relay.')
param relayHost string

@description('Ports of the relay, in the order they are tried.')
param relayEndpoints relayEndpoint[]

@description('AUTH user name at the relay.')
param relayUserName string

@description('Key Vault URI of the relay password secret (no version: the latest is read).')
param relayPasswordSecretUri string

@description('Bounce domain (MailGateway:Bounces:Domain): each recipient is sent with a signed VERP sender of it. Empty: off.')
param bounceDomain string = ''

@description('Key Vault URI of the VERP signing key secret (no version), shared with the inbound listener; required with bounceDomain.')
param bounceSecretUri string = ''

@description('Concurrent deliveries per replica; also the queue length per replica KEDA aims for.')
@minValue(1)
@maxValue(256)
param concurrency int = 8

@description('Deliveries of one job without a settlement before the worker dead-letters it (the queue\'s own limit is one more).')
@minValue(1)
@maxValue(1000)
param maxDeliveryCount int = 10

@description('Fewest replicas (0: scale to zero when the queue is empty).')
@minValue(0)
param minReplicas int = 0

@description('Most replicas.')
@minValue(1)
@maxValue(300)
param maxReplicas int = 10

// In-flight deliveries get this long to finish on shutdown; the platform waits a little longer before it kills.
var drainSeconds = 120
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'
var healthPort = 8080

var relayEndpointEnv = flatten(map(range(0, length(relayEndpoints)), i => [
  {
    name: 'MailGateway__Relay__Endpoints__${i}__Port'
    value: string(relayEndpoints[i].port)
  }
  {
    name: 'MailGateway__Relay__Endpoints__${i}__Tls'
    value: relayEndpoints[i].tls
  }
]))

// Bounce processing: the domain and the signing key (a Key Vault reference, the same secret the listener reads).
var bounceSecrets = empty(bounceDomain)
  ? []
  : [
      {
        name: 'bounce-secret'
        keyVaultUrl: bounceSecretUri
        identity: identity.id
      }
    ]

var bounceEnv = empty(bounceDomain)
  ? []
  : [
      {
        name: 'MailGateway__Bounces__Domain'
        value: bounceDomain
      }
      {
        name: 'MailGateway__Bounces__Secret'
        secretRef: 'bounce-secret'
      }
    ]

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

resource scalerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: scalerIdentityName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Azure Monitor accepts the app's telemetry (traces, metrics, logs) from its identity only.
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identity.id, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'delivery' })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
      '${scalerIdentity.id}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      registries: [
        {
          server: registryServer
          identity: identity.id
        }
      ]
      secrets: concat(
        [
          {
            name: 'relay-password'
            keyVaultUrl: relayPasswordSecretUri
            identity: identity.id
          }
        ],
        bounceSecrets
      )
    }
    template: {
      terminationGracePeriodSeconds: drainSeconds + 30
      containers: [
        {
          name: 'delivery'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: concat(
            [
              {
                name: 'AZURE_CLIENT_ID'
                value: identity.properties.clientId
              }
              {
                // Read by the app's OpenTelemetry (AddAzureServiceDefaults), which authenticates with AZURE_CLIENT_ID's identity.
                name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
                value: applicationInsightsConnectionString
              }
              {
                name: 'MailGateway__ServiceBus__FullyQualifiedNamespace'
                value: serviceBusNamespace
              }
              {
                name: 'MailGateway__ServiceBus__QueueName'
                value: queueName
              }
              {
                name: 'MailGateway__AzureStorage__BlobServiceUri'
                value: blobEndpoint
              }
              {
                name: 'MailGateway__AzureStorage__TableServiceUri'
                value: tableEndpoint
              }
              {
                name: 'MailGateway__AzureStorage__ContentContainer'
                value: outboundContainerName
              }
              {
                name: 'MailGateway__AzureStorage__StatusTable'
                value: statusTableName
              }
              {
                name: 'MailGateway__AzureStorage__IdempotencyTable'
                value: idempotencyTableName
              }
              {
                name: 'MailGateway__AzureStorage__SuppressionTable'
                value: suppressionTableName
              }
              {
                name: 'MailGateway__AzureStorage__EventFeedTable'
                value: eventFeedTableName
              }
              {
                name: 'MailGateway__AzureStorage__WebhookTable'
                value: webhookTableName
              }
              {
                // Deployed by the templates; the roles are scoped to the container and tables.
                name: 'MailGateway__AzureStorage__CreateIfNotExists'
                value: 'false'
              }
              {
                name: 'MailGateway__Relay__Host'
                value: relayHost
              }
              {
                name: 'MailGateway__Relay__UserName'
                value: relayUserName
              }
              {
                name: 'MailGateway__Relay__Password'
                secretRef: 'relay-password'
              }
              {
                name: 'MailGateway__DeliveryWorker__Concurrency'
                value: string(concurrency)
              }
              {
                name: 'MailGateway__DeliveryWorker__MaxDeliveryCount'
                value: string(maxDeliveryCount)
              }
              {
                name: 'MailGateway__DeliveryWorker__DrainTimeout'
                value: '00:${padLeft(string(drainSeconds / 60), 2, '0')}:${padLeft(string(drainSeconds % 60), 2, '0')}'
              }
            ],
            relayEndpointEnv,
            bounceEnv
          )
          probes: empty(image)
            ? []
            : [
                {
                  type: 'Liveness'
                  httpGet: {
                    path: '/healthz'
                    port: healthPort
                  }
                  periodSeconds: 30
                }
                {
                  type: 'Readiness'
                  httpGet: {
                    path: '/readyz'
                    port: healthPort
                  }
                  periodSeconds: 15
                  // Above MailGateway:Health:ProbeTimeout (4 s), so a slow dependency is reported, not timed out.
                  timeoutSeconds: 5
                }
              ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'outbound-queue'
            custom: {
              type: 'azure-servicebus'
              identity: scalerIdentity.id
              metadata: {
                namespace: serviceBusName
                queueName: queueName
                messageCount: string(concurrency)
              }
            }
          }
        ]
      }
    }
  }
}

@description('Name of the container app.')
output name string = app.name
