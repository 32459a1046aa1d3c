// Service Bus (Standard) with the delivery queue. Local (SAS) auth is off. Role assignments are on the queue, not the
// namespace: the API sends, the worker receives and sends (a deferred job goes back as a scheduled copy), the KEDA
// scaler reads the queue length with its own identity, and the dashboard reads the queue's counts for its queue page.

@description('Name of the namespace (globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags for the namespace.')
param tags object

@description('Log Analytics workspace for diagnostics.')
param workspaceId string

@description('Name of the delivery queue.')
param queueName string

@description('Duplicate detection window: a job re-sent within it with the same MessageId (the gateway id) is dropped.')
param duplicateDetectionWindow string = 'PT1H'

@description('Deliveries of one job before Service Bus dead-letters it (crashes or lost locks; SMTP outcomes are settled by the worker). main.bicep passes the worker\'s MaxDeliveryCount + 1: the worker dead-letters first and marks the message failed; this is the backstop.')
@minValue(1)
@maxValue(2000)
param maxDeliveryCount int = 11

@description('Time to live of a job; longer than the gateway maximum message age (5 days by default). Expired jobs are dead-lettered.')
param messageTimeToLive string = 'P7D'

@description('Name of the API (Function App) identity: sends jobs.')
param apiIdentityName string

@description('Name of the delivery worker identity: receives jobs and sends scheduled retries.')
param deliveryIdentityName string

@description('Name of the KEDA scaler identity of the delivery worker: reads the queue length.')
param scalerIdentityName string

@description('Name of the inbound listener identity: SMTP submission sends first delivery jobs, like the API.')
param inboundIdentityName string

@description('Name of the dashboard identity: its dead-letter page replays and purges like the API; its queue page reads the queue\'s counts.')
param dashboardIdentityName string

var senderRoleId = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
var receiverRoleId = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
// The azure-servicebus KEDA scaler and the dashboard's queue page read the queue's runtime properties (message counts),
// which Service Bus grants only with Manage rights: with Entra ID that is Data Owner (no narrower built-in role has
// the counts). It goes to the scaler-only identity and the dashboard's, each on this one queue.
var ownerRoleId = '090c5cfd-751d-490a-894a-3ce6f1109419'

resource apiIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: apiIdentityName
}

resource inboundIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: inboundIdentityName
}

resource dashboardIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: dashboardIdentityName
}

resource deliveryIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: deliveryIdentityName
}

resource scalerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: scalerIdentityName
}

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: queueName
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    lockDuration: 'PT5M'
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: messageTimeToLive
    enableBatchedOperations: true
    requiresSession: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: namespace
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
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

resource apiSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, apiIdentity.id, senderRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', senderRoleId)
    principalId: apiIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The API serves the dead-letter routes: it peeks, receives (replay, purge) and completes in the dead-letter sub-queue,
// which Data Receiver on the queue covers; the replayed job is a send (apiSender).
resource apiReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, apiIdentity.id, receiverRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', receiverRoleId)
    principalId: apiIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource inboundSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, inboundIdentity.id, senderRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', senderRoleId)
    principalId: inboundIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deliveryReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, deliveryIdentity.id, receiverRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', receiverRoleId)
    principalId: deliveryIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deliverySender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, deliveryIdentity.id, senderRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', senderRoleId)
    principalId: deliveryIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource scalerOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, scalerIdentity.id, ownerRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ownerRoleId)
    principalId: scalerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Name of the namespace (the KEDA scaler metadata).')
output name string = namespace.name

@description('Fully qualified namespace, e.g. contoso.servicebus.windows.net (identity-based connection).')
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]

@description('Name of the delivery queue.')
output queueName string = queue.name

// The dashboard's dead-letter page as the API's routes: receive (replay, purge) in the sub-queue, send the replayed job.
resource dashboardSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, dashboardIdentity.id, senderRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', senderRoleId)
    principalId: dashboardIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource dashboardReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, dashboardIdentity.id, receiverRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', receiverRoleId)
    principalId: dashboardIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The dashboard's queue page: depth, scheduled and dead-letter counts come from GetQueueRuntimePropertiesAsync, which
// Service Bus answers only with the Manage right (Data Owner), on this queue only. Without it the page still works and
// says the numbers are missing. Sender and Receiver above stay: the dead-letter page does not depend on this grant.
resource dashboardOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, dashboardIdentity.id, ownerRoleId)
  scope: queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ownerRoleId)
    principalId: dashboardIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}
