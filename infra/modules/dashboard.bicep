// The dashboard (/ui) on Container Apps: the MailGateway.Dashboard.Azure app behind external HTTPS ingress, one
// replica (its data protection key ring is in memory: a second replica would not read the first one's cookies). It
// reads and acts with its own identity: the outbound container (purge deletes content), the status table (cancel and
// replay write the record) and the queue (replay receives the dead letter and sends the job; the queue page reads its
// counts, Data Owner in servicebus.bicep). Sign-in with the API's keys.

import { apiKey } from 'types.bicep'

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

@description('Table of the event feed (a cancel or a replay writes its entry there).')
param eventFeedTableName string

@description('API keys that may sign in (the API\'s keys: id, SHA-256 of the key, allowed sender domains).')
param apiKeys apiKey[]

var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'
var httpPort = 8080

var apiKeyEnv = flatten(map(range(0, length(apiKeys)), i => concat(
  [
    {
      name: 'MailGateway__Api__Keys__${i}__Id'
      value: apiKeys[i].id
    }
    {
      name: 'MailGateway__Api__Keys__${i}__Sha256'
      value: apiKeys[i].sha256
    }
  ],
  map(range(0, length(apiKeys[i].allowedSenderDomains)), j => {
    name: 'MailGateway__Api__Keys__${i}__AllowedSenderDomains__${j}'
    value: apiKeys[i].allowedSenderDomains[j]
  })
)))

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

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
  tags: union(tags, { 'azd-service-name': 'dashboard' })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
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
      ingress: {
        external: true
        transport: 'http'
        targetPort: httpPort
        allowInsecure: false
      }
    }
    template: {
      containers: [
        {
          name: 'dashboard'
          image: empty(image) ? placeholderImage : image
          resources: {
            cpu: json('0.25')
            memory: '0.5Gi'
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
                // The dead-letter page's receiver and sender, and the queue page's counts (administration client) and peek.
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
                name: 'MailGateway__AzureStorage__EventFeedTable'
                value: eventFeedTableName
              }
              {
                // Deployed by the templates; the roles are scoped to the container and the table.
                name: 'MailGateway__AzureStorage__CreateIfNotExists'
                value: 'false'
              }
              {
                // The ingress terminates HTTPS: the session and antiforgery cookies go over HTTPS only.
                name: 'MailGateway__Dashboard__SecureCookie'
                value: 'true'
              }
              {
                name: 'MailGateway__Dashboard__SignIn'
                value: 'Required'
              }
            ],
            apiKeyEnv
          )
          probes: empty(image)
            ? []
            : [
                {
                  type: 'Liveness'
                  httpGet: {
                    path: '/healthz'
                    port: httpPort
                  }
                  periodSeconds: 30
                }
                {
                  type: 'Readiness'
                  httpGet: {
                    path: '/readyz'
                    port: httpPort
                  }
                  periodSeconds: 15
                  timeoutSeconds: 5
                }
              ]
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: 1
      }
    }
  }
}

@description('Name of the container app.')
output name string = app.name

@description('Host name of the dashboard (open https://<it>/ui).')
output fqdn string = app.properties.configuration.ingress.fqdn
