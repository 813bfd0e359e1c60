{{/* Names and labels shared by the templates. */}}

{{- define "contract-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "contract-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Cluster-scoped objects carry the release namespace: two releases with the same name in
different namespaces must not share (or overwrite) one ClusterRole. */}}
{{- define "contract-operator.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "contract-operator.fullname" .) }}
{{- end }}

{{- define "contract-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "contract-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "contract-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "contract-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "contract-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "contract-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "contract-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* kopf replicas do not know about each other unless they share a peering object. */}}
{{- define "contract-operator.peering" -}}
{{- if gt (int .Values.replicas) 1 }}true{{ end }}
{{- end }}

{{- define "contract-operator.peeringName" -}}
{{- include "contract-operator.fullname" . }}
{{- end }}

{{/* .Values.selector (a LabelSelector) in the `kubectl -l` syntax the operator's --selector
reads (core/selectors.py): one selector, rendered for the operator, the webhook and the policy. */}}
{{- define "contract-operator.selectorString" -}}
{{- $parts := list }}
{{- range $k, $v := (.Values.selector.matchLabels | default dict) }}
{{- $parts = append $parts (printf "%s=%s" $k $v) }}
{{- end }}
{{- range (.Values.selector.matchExpressions | default list) }}
{{- if eq .operator "In" }}{{ $parts = append $parts (printf "%s in (%s)" .key (join "," .values)) }}
{{- else if eq .operator "NotIn" }}{{ $parts = append $parts (printf "%s notin (%s)" .key (join "," .values)) }}
{{- else if eq .operator "Exists" }}{{ $parts = append $parts .key }}
{{- else }}{{ $parts = append $parts (printf "!%s" .key) }}
{{- end }}
{{- end }}
{{- join "," $parts }}
{{- end }}
