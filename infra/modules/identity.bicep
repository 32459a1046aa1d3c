// One user-assigned managed identity. Each app gets its own, so each holds only the roles its own code needs.

@description('Name of the identity.')
param name string

@description('Azure region.')
param location string

@description('Tags for the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource ID (for identity blocks and Key Vault references).')
output id string = identity.id

@description('Client ID (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).')
output clientId string = identity.properties.clientId

@description('Principal (object) ID (role assignments).')
output principalId string = identity.properties.principalId
