// The HTTP API: a Function App on Flex Consumption (FC1, dotnet-isolated), with a user-assigned identity used for
// everything — host storage (AzureWebJobsStorage__*), the deployment package, Application Insights (local auth off),
// Service Bus and the message stores (AZURE_CLIENT_ID for DefaultAzureCredential). No key or connection string is in
// its settings.

import { apiKey, dkimKey } from 'types.bicep'

@description('Name of the Function App (globally unique host name).')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region.')
param location string

@description('Tags for every resource (the site also gets the azd service tag).')
param tags object

@description('Log Analytics workspace for diagnostics.')
param workspaceId string

@description('Name of the user-assigned identity of the app.')
param identityName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Application Insights connection string.')
param applicationInsightsConnectionString string

@description('Name of the storage account (host storage).')
param storageAccountName string

@description('Blob service endpoint of the storage account.')
param blobEndpoint string

@description('Table service endpoint of the storage account.')
param tableEndpoint string

@description('Container of the deployment package.')
param deploymentContainerName string

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

@description('Table of the webhook endpoints and their delivery state.')
param webhookTableName string

@description('Fully qualified Service Bus namespace.')
param serviceBusNamespace string

@description('Name of the delivery queue.')
param queueName string

@description('Largest composed message in bytes.')
param maxMessageBytes int

@description('Most recipients per message.')
param maxRecipients int

@description('API keys (hashes only).')
param apiKeys apiKey[]

@description('URI of the Key Vault that holds the DKIM private keys.')
param dkimKeyVaultUri string

@description('DKIM keys (their secrets are in that vault).')
param dkimKeys dkimKey[]

@description('.NET version of the isolated worker.')
param dotnetVersion string = '10.0'

@description('Most instances the plan scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per instance, MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

// A request carries the message as JSON with base64 attachments: about the size of the composed MIME; the margin
// covers the JSON around it (the app's own default is 16 MiB for 10 MB messages).
var maxRequestBodyBytes = maxMessageBytes / 5 * 8

// MailGateway:Api:Keys:N:… — one setting per field, N the index of the key (and of its sender domain).
var apiKeySettings = reduce(
  range(0, length(apiKeys)),
  {},
  (settings, i) =>
    union(
      settings,
      {
        'MailGateway__Api__Keys__${i}__Id': apiKeys[i].id
        'MailGateway__Api__Keys__${i}__Sha256': apiKeys[i].sha256
      },
      toObject(
        range(0, length(apiKeys[i].allowedSenderDomains)),
        j => 'MailGateway__Api__Keys__${i}__AllowedSenderDomains__${j}',
        j => apiKeys[i].allowedSenderDomains[j]
      )
    )
)

// MailGateway:Dkim:Keys:N:… — the API signs at accept with these; the key itself stays in the vault.
var dkimKeySettings = reduce(
  range(0, length(dkimKeys)),
  {},
  (settings, i) =>
    union(
      settings,
      {
        'MailGateway__Dkim__Keys__${i}__Domain': dkimKeys[i].domain
        'MailGateway__Dkim__Keys__${i}__KeyVaultUri': dkimKeyVaultUri
        'MailGateway__Dkim__Keys__${i}__SecretName': dkimKeys[i].secretName
        'MailGateway__Dkim__Keys__${i}__Active': (dkimKeys[i].?active ?? true) ? 'true' : 'false'
      },
      empty(dkimKeys[i].?selector ?? '') ? {} : { 'MailGateway__Dkim__Keys__${i}__Selector': dkimKeys[i].selector! }
    )
)

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
  }
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(
    {
      // Read by the Functions host: identity-based host storage with the user-assigned identity.
      AzureWebJobsStorage__accountName: storageAccountName
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identity.properties.clientId
      // Read by the Functions host: telemetry with Entra ID (the component accepts no key).
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
      // Read by DefaultAzureCredential in the worker: which user-assigned identity to use.
      AZURE_CLIENT_ID: identity.properties.clientId
      MailGateway__ServiceBus__FullyQualifiedNamespace: serviceBusNamespace
      MailGateway__ServiceBus__QueueName: queueName
      MailGateway__AzureStorage__BlobServiceUri: blobEndpoint
      MailGateway__AzureStorage__TableServiceUri: tableEndpoint
      MailGateway__AzureStorage__ContentContainer: outboundContainerName
      MailGateway__AzureStorage__StatusTable: statusTableName
      MailGateway__AzureStorage__IdempotencyTable: idempotencyTableName
      MailGateway__AzureStorage__SuppressionTable: suppressionTableName
      MailGateway__AzureStorage__EventFeedTable: eventFeedTableName
      MailGateway__AzureStorage__WebhookTable: webhookTableName
      // The container and tables are deployed here; the roles are scoped to them and do not allow creating tables.
      MailGateway__AzureStorage__CreateIfNotExists: 'false'
      MailGateway__Messages__MaxMessageBytes: string(maxMessageBytes)
      MailGateway__Messages__MaxRecipients: string(maxRecipients)
      MailGateway__Api__MaxRequestBodyBytes: string(maxRequestBodyBytes)
    },
    apiKeySettings,
    dkimKeySettings
  )
}

resource basicPublishingFtp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource basicPublishingScm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
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

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

@description('Name of the Function App.')
output name string = site.name

@description('Default host name, e.g. contoso.azurewebsites.net.')
output defaultHostName string = site.properties.defaultHostName
