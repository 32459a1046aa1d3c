// The storage account: outbound message content (claim check), inbound raw messages, the Function App's deployment
// package and host storage, and the status / idempotency / suppression tables. Shared-key access is off: every client uses Entra ID.
// Role assignments are scoped as narrowly as the apps allow (a container or a table where possible).

@description('Name of the storage account (3-24 lower-case letters and digits, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags for the account.')
param tags object

@description('Log Analytics workspace for diagnostics.')
param workspaceId string

@description('Container of composed outbound messages.')
param outboundContainerName string

@description('Container of received inbound messages.')
param inboundContainerName string

@description('Container of the Function App deployment package (Flex Consumption).')
param deploymentContainerName string

@description('Table of message status records.')
param statusTableName string

@description('Table of idempotency keys.')
param idempotencyTableName string

@description('Table of the per-key suppression lists.')
param suppressionTableName string

@description('Table of the event feed across messages (entries written before each status change, confirmed after).')
param eventFeedTableName string

@description('Table of the webhook endpoints created through the API and of every endpoint\'s delivery state.')
param webhookTableName string

@description('Days after its last write a blob of the outbound container is deleted: the worker deletes delivered messages at once; this removes the content of failed, expired and unknown messages and what a crash left. Keep it above MaxAge (5 days) plus how far ahead sendAt is used.')
@minValue(6)
param outboundContentRetentionDays int = 35

@description('Name of the API (Function App) identity.')
param apiIdentityName string

@description('Name of the delivery worker identity.')
param deliveryIdentityName string

@description('Name of the inbound listener identity.')
param inboundIdentityName string

@description('Whether the inbound identity writes the suppression table (bounce processing: bounce and complaint entries).')
param inboundWritesSuppressions bool = false

@description('Name of the dashboard identity.')
param dashboardIdentityName string

var blobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var tableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

resource apiIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: apiIdentityName
}

resource deliveryIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: deliveryIdentityName
}

resource inboundIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: inboundIdentityName
}

resource dashboardIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: dashboardIdentityName
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource outboundContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: outboundContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource inboundContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: inboundContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Retention of the claim checks (Blob lifecycle management runs about once a day).
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'outbound-content-retention'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${outboundContainer.name}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: outboundContentRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource statusTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: statusTableName
}

resource idempotencyTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: idempotencyTableName
}

resource suppressionTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: suppressionTableName
}

resource eventFeedTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: eventFeedTableName
}

resource webhookTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: webhookTableName
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: tableService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

// The Functions host keeps its own containers (azure-webjobs-hosts, -secrets) and reads the deployment package, so
// the API identity needs blob access on the account, not one container.
resource apiBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, apiIdentity.id, blobDataContributorRoleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributorRoleId)
    principalId: apiIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource apiStatusTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(statusTable.id, apiIdentity.id, tableDataContributorRoleId)
  scope: statusTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: apiIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource apiIdempotencyTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(idempotencyTable.id, apiIdentity.id, tableDataContributorRoleId)
  scope: idempotencyTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: apiIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The API reads and changes the lists (/api/v1/suppressions); the worker reads them and adds hard bounces.
resource apiSuppressionTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(suppressionTable.id, apiIdentity.id, tableDataContributorRoleId)
  scope: suppressionTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: apiIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deliverySuppressionTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(suppressionTable.id, deliveryIdentity.id, tableDataContributorRoleId)
  scope: suppressionTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: deliveryIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Both write feed entries with every status change; the API reads the feed (GET /api/v1/events), which settles entries.
resource apiEventFeedTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventFeedTable.id, apiIdentity.id, tableDataContributorRoleId)
  scope: eventFeedTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: apiIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deliveryEventFeedTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventFeedTable.id, deliveryIdentity.id, tableDataContributorRoleId)
  scope: eventFeedTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: deliveryIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The API writes the endpoints (POST/PATCH/DELETE /api/v1/webhooks); the delivery worker's dispatcher reads them and
// writes their delivery state (cursor, failures). Both tables hold the signing secrets: no other identity has a role.
resource apiWebhookTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(webhookTable.id, apiIdentity.id, tableDataContributorRoleId)
  scope: webhookTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: apiIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deliveryWebhookTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(webhookTable.id, deliveryIdentity.id, tableDataContributorRoleId)
  scope: webhookTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: deliveryIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deliveryBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(outboundContainer.id, deliveryIdentity.id, blobDataContributorRoleId)
  scope: outboundContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributorRoleId)
    principalId: deliveryIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deliveryStatusTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(statusTable.id, deliveryIdentity.id, tableDataContributorRoleId)
  scope: statusTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: deliveryIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deliveryIdempotencyTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(idempotencyTable.id, deliveryIdentity.id, tableDataContributorRoleId)
  scope: idempotencyTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: deliveryIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource inboundBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(inboundContainer.id, inboundIdentity.id, blobDataContributorRoleId)
  scope: inboundContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributorRoleId)
    principalId: inboundIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// SMTP submission on the inbound listener accepts through the same claim-check port as the API: the outbound
// container and both tables, nothing else.
resource inboundOutboundBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(outboundContainer.id, inboundIdentity.id, blobDataContributorRoleId)
  scope: outboundContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributorRoleId)
    principalId: inboundIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource inboundStatusTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(statusTable.id, inboundIdentity.id, tableDataContributorRoleId)
  scope: statusTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: inboundIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource inboundIdempotencyTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(idempotencyTable.id, inboundIdentity.id, tableDataContributorRoleId)
  scope: idempotencyTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: inboundIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The inbound listener's status changes (a submission's accept, a bounced recipient) write their feed entries too.
resource inboundEventFeedTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventFeedTable.id, inboundIdentity.id, tableDataContributorRoleId)
  scope: eventFeedTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: inboundIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Bounce processing on the inbound listener adds bounce and complaint entries to the suppression lists.
resource inboundSuppressionTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inboundWritesSuppressions) {
  name: guid(suppressionTable.id, inboundIdentity.id, tableDataContributorRoleId)
  scope: suppressionTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: inboundIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Name of the storage account.')
output name string = account.name

@description('Blob service endpoint, e.g. https://contoso.blob.core.windows.net/.')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Table service endpoint, e.g. https://contoso.table.core.windows.net/.')
output tableEndpoint string = account.properties.primaryEndpoints.table

@description('Container of composed outbound messages.')
output outboundContainerName string = outboundContainer.name

@description('Container of received inbound messages.')
output inboundContainerName string = inboundContainer.name

@description('Container of the Function App deployment package.')
output deploymentContainerName string = deploymentContainer.name

@description('Table of message status records.')
output statusTableName string = statusTable.name

@description('Table of idempotency keys.')
output idempotencyTableName string = idempotencyTable.name

@description('Table of the per-key suppression lists.')
output suppressionTableName string = suppressionTable.name

@description('Table of the event feed across messages.')
output eventFeedTableName string = eventFeedTable.name

@description('Table of the webhook endpoints and their delivery state.')
output webhookTableName string = webhookTable.name

// The dashboard reads and acts on what the API wrote: the outbound container (a purge deletes the content) and the
// status table (cancel and replay write the record; its events live in the same partitions) and, since those are
// status changes with events, the event feed (their entries). Nothing else.
resource dashboardBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(outboundContainer.id, dashboardIdentity.id, blobDataContributorRoleId)
  scope: outboundContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributorRoleId)
    principalId: dashboardIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource dashboardStatusTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(statusTable.id, dashboardIdentity.id, tableDataContributorRoleId)
  scope: statusTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: dashboardIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource dashboardEventFeedTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventFeedTable.id, dashboardIdentity.id, tableDataContributorRoleId)
  scope: eventFeedTable
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', tableDataContributorRoleId)
    principalId: dashboardIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}
