// The container registry azd pushes the delivery and inbound images to. Admin user and anonymous pull off: the apps
// pull with their own managed identities (AcrPull).

@description('Name of the registry (alphanumeric, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags for the registry.')
param tags object

@description('Log Analytics workspace for diagnostics.')
param workspaceId string

@description('Names of the identities that pull images (AcrPull).')
param pullIdentityNames string[]

var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource pullIdentities 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = [
  for identityName in pullIdentityNames: {
    name: identityName
  }
]

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: registry
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

resource acrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (identityName, i) in pullIdentityNames: {
    name: guid(registry.id, pullIdentities[i].id, acrPullRoleId)
    scope: registry
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
      principalId: pullIdentities[i].properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

@description('Resource ID of the registry.')
output id string = registry.id

@description('Name of the registry.')
output name string = registry.name

@description('Login server, e.g. contoso.azurecr.io.')
output loginServer string = registry.properties.loginServer
