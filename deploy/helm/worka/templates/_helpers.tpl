{{/* The release's base name: <release>-worka (or the release name when it already says worka). */}}
{{- define "worka.fullname" -}}
{{- if contains "worka" .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-worka" .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "worka.labels" -}}
app.kubernetes.io/name: worka
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selects this release's Gateway pods (never a worker: those are component=worker). */}}
{{- define "worka.gatewaySelector" -}}
app.kubernetes.io/name: worka
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end -}}

{{/* The worker pods the Gateway creates (labels fixed by the Kubernetes runtime). */}}
{{- define "worka.workerSelector" -}}
app.kubernetes.io/name: worka
app.kubernetes.io/component: worker
app.kubernetes.io/managed-by: worka-gateway
{{- end -}}

{{- define "worka.image" -}}
{{- $tag := .image.tag | default .chart.AppVersion -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The credentials, as a YAML list: env (the variable, also the key in its Secret), secret (the
existing Secret to read it from, or "" for the chart's own Secret), value (what the chart's own
Secret holds), required. Only those that are set appear (from an existing Secret an optional key
may be absent: the reference is optional).
*/}}
{{- define "worka.credentials" -}}
{{- $v := .Values -}}
{{- $all := list
  (dict "env" "WORKA_DATABASE_URL" "group" $v.database "value" $v.database.url "required" true)
  (dict "env" "WORKA_DATABASE_USER" "group" $v.database "value" $v.database.user)
  (dict "env" "WORKA_DATABASE_PASSWORD" "group" $v.database "value" $v.database.password)
  (dict "env" "WORKA_DATABASE_APP_USER" "group" $v.database "value" $v.database.appUser)
  (dict "env" "WORKA_DATABASE_APP_PASSWORD" "group" $v.database "value" $v.database.appPassword)
  (dict "env" "WORKA_OPERATOR_TOKEN" "group" $v.operatorToken "value" $v.operatorToken.value "required" true)
  (dict "env" "SLACK_BOT_TOKEN" "group" $v.slack "value" $v.slack.botToken)
  (dict "env" "SLACK_SIGNING_SECRET" "group" $v.slack "value" $v.slack.signingSecret)
  (dict "env" "SLACK_APP_TOKEN" "group" $v.slack "value" $v.slack.appToken)
  (dict "env" "GITHUB_TOKEN" "group" $v.github "value" $v.github.token)
  (dict "env" "GITHUB_WEBHOOK_SECRET" "group" $v.github "value" $v.github.webhookSecret)
  (dict "env" "ANTHROPIC_API_KEY" "group" $v.anthropic "value" $v.anthropic.apiKey)
-}}
{{- range $c := $all }}
{{- if $c.group.existingSecret }}
- env: {{ $c.env }}
  secret: {{ $c.group.existingSecret | quote }}
  required: {{ $c.required | default false }}
{{- else if $c.value }}
- env: {{ $c.env }}
  secret: ""
  value: {{ $c.value | quote }}
  required: {{ $c.required | default false }}
{{- else if $c.required }}
{{- fail (printf "%s is required: set it in an existing Secret (the values' existingSecret beside it) or as a value; see docs/kubernetes.md" $c.env) }}
{{- end }}
{{- end }}
{{- end -}}
