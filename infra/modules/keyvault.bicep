// A Key Vault in RBAC mode (no access policies), purge-protected. Optionally stores one secret and grants identities
// Key Vault Secrets User on that secret only; optionally grants identities a role on the whole vault (for a vault that
// holds nothing else, such as the ones for the inbound TLS certificate and the DKIM keys).

@description('Name of the vault (3-24 characters, globally unique).')
param name string

@description('Azure region.')
param location string

@description('Tags for the vault.')
param tags object

@description('Log Analytics workspace for diagnostics.')
param workspaceId string

@description('Name of a secret to store; empty: none.')
param secretName string = ''

@secure()
@description('Value of that secret.')
param secretValue string = ''

@description('Names of the identities granted Key Vault Secrets User on that secret; empty: none.')
param readerIdentityNames string[] = []

@description('Names of the identities granted vaultRoleId on the whole vault; empty: none.')
param vaultIdentityNames string[] = []

@description('Role definition (GUID) for vaultIdentityNames.')
param vaultRoleId string = ''

@description('Principal ID of the deploying user, granted operatorRoleId to put the vault\'s content in; empty: none.')
param operatorPrincipalId string = ''

@description('Role definition (GUID) for operatorPrincipalId; default Key Vault Certificates Officer (to import certificates).')
param operatorRoleId string = 'a4417e6f-fecd-4de8-b567-7b0420556985'

@description('Principal type of the deploying user.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param operatorPrincipalType string = 'User'

var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource readerIdentities 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = [
  for identityName in readerIdentityNames: {
    name: identityName
  }
]

resource vaultIdentities 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = [
  for identityName in vaultIdentityNames: {
    name: identityName
  }
]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(secretName)) {
  parent: vault
  name: empty(secretName) ? 'unused' : secretName
  properties: {
    value: secretValue
    contentType: 'text/plain'
  }
}

// Named as when the module took one reader, so the relay password's existing assignment keeps its name.
resource secretReaders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (identityName, i) in readerIdentityNames: if (!empty(secretName)) {
    name: guid(vault.id, secretName, identityName, secretsUserRoleId)
    scope: secret
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
      principalId: readerIdentities[i].properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource vaultRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (identityName, i) in vaultIdentityNames: if (!empty(vaultRoleId)) {
    name: guid(vault.id, identityName, vaultRoleId)
    scope: vault
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', vaultRoleId)
      principalId: vaultIdentities[i].properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource operatorRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, operatorRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', operatorRoleId)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
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

@description('Name of the vault.')
output name string = vault.name

@description('Vault URI, e.g. https://contoso.vault.azure.net/.')
output uri string = vault.properties.vaultUri

@description('URI of the stored secret without a version (the latest version is read); empty when none.')
output secretUri string = empty(secretName) ? '' : secret!.properties.secretUri
