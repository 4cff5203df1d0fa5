// Package docs embeds the documents the service serves: the OpenAPI
// description of its API.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml, served at /openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
