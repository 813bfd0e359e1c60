{{/* The admission webhook's names and the pieces it adds to the Deployment. */}}

{{- define "contract-operator.admission.serviceName" -}}
{{- printf "%s-webhook" (include "contract-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Cluster-scoped, so it carries the release namespace (as the ClusterRole does). */}}
{{- define "contract-operator.admission.configName" -}}
{{- include "contract-operator.clusterName" . | trimPrefix "-" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "true" when the operator writes the ValidatingWebhookConfiguration and its caBundle
itself (self-signed certificate); with cert-manager the chart owns it and cert-manager's
cainjector fills in the caBundle. */}}
{{- define "contract-operator.admission.managed" -}}
{{- if and .Values.admission.enabled (not .Values.admission.certManager.enabled) }}true{{ end }}
{{- end }}

{{- define "contract-operator.admission.certDir" -}}
/etc/contract-operator/webhook-tls
{{- end }}

{{- define "contract-operator.admission.env" -}}
- name: CONTRACT_OPERATOR_ADMISSION_MODE
  value: {{ ternary .Values.admission.mode "off" .Values.admission.enabled | quote }}
{{- if .Values.admission.enabled }}
- name: CONTRACT_OPERATOR_ADMISSION_PORT
  value: {{ .Values.admission.port | quote }}
- name: CONTRACT_OPERATOR_ADMISSION_SERVICE
  value: {{ printf "%s/%s:443" .Release.Namespace (include "contract-operator.admission.serviceName" .) | quote }}
- name: CONTRACT_OPERATOR_ADMISSION_TIMEOUT_SECONDS
  value: {{ .Values.admission.timeoutSeconds | quote }}
{{- if .Values.admission.certManager.enabled }}
- name: CONTRACT_OPERATOR_ADMISSION_CERT_DIR
  value: {{ include "contract-operator.admission.certDir" . | quote }}
{{- else }}
- name: CONTRACT_OPERATOR_ADMISSION_WEBHOOK_CONFIG
  value: {{ include "contract-operator.admission.configName" . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{- define "contract-operator.admission.ports" -}}
{{- if .Values.admission.enabled }}
- name: webhook
  containerPort: {{ .Values.admission.port }}
  protocol: TCP
{{- end }}
{{- end }}

{{- define "contract-operator.admission.volumeMounts" -}}
{{- if and .Values.admission.enabled .Values.admission.certManager.enabled }}
- name: webhook-tls
  mountPath: {{ include "contract-operator.admission.certDir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "contract-operator.admission.volumes" -}}
{{- if and .Values.admission.enabled .Values.admission.certManager.enabled }}
- name: webhook-tls
  secret:
    secretName: {{ include "contract-operator.admission.serviceName" . }}-tls
{{- end }}
{{- end }}
