// Offline checks of the files deploy/verification/render.sh writes.
//
//   cd deploy/kubernetes && npm ci && node validate.mjs [RENDERED_DIR] [--policy-controller-crd CRD.yaml]
//
// RENDERED_DIR defaults to ../verification/example. Three kinds of check, each reported on its own line:
//   schema  Namespace, ServiceAccount, Deployment, Service, NetworkPolicy against the Kubernetes OpenAPI schemas in
//           the npm package kubernetes-models; the Kyverno ClusterPolicy against the Kyverno CRD schemas in
//           @kubernetes-models/kyverno; the ClusterImagePolicy against sigstore policy-controller's CRD only when
//           its file is given (no npm package carries it; it is config/300-clusterimagepolicy.yaml of the
//           policy-controller release being installed). Unknown fields count as errors, as with kubectl's default
//           --validate=strict: the packaged validators allow them, so every field of the manifests that the schema
//           did not look at is reported.
//   intent  what Cloister needs of each file: the key is the one in host.pub.pem, the scope is the same everywhere,
//           no transparency log is required, the pod keeps every lock of deploy/serving/README.md, ...
//   podman  containers-policy.json and registries.d/cloister.yaml by structure (there is no published JSON schema
//           for them; deploy/verification/check-podman-policy.sh runs them through containers/image itself).
// Ends with "N passed, N failed, N skipped"; exit status 1 when anything failed.

import { readFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import Ajv from "ajv";

import { validate as validateNamespace } from "kubernetes-models/_schemas/IoK8sApiCoreV1Namespace";
import { validate as validateServiceAccount } from "kubernetes-models/_schemas/IoK8sApiCoreV1ServiceAccount";
import { validate as validateDeployment } from "kubernetes-models/_schemas/IoK8sApiAppsV1Deployment";
import { validate as validateService } from "kubernetes-models/_schemas/IoK8sApiCoreV1Service";
import { validate as validateNetworkPolicy } from "kubernetes-models/_schemas/IoK8sApiNetworkingV1NetworkPolicy";

const here = path.dirname(fileURLToPath(import.meta.url));
// @kubernetes-models/kyverno does not export its _schemas; load the generated validator by path.
const { validate: validateClusterPolicy } = await import(new URL(
  "./node_modules/@kubernetes-models/kyverno/_schemas/ComGithubKyvernoKyvernoApiKyvernoV1ClusterPolicy.js",
  import.meta.url).href);

const SLSA_V1 = "https://slsa.dev/provenance/v1";
const SERVING_BUILD_TYPE = "https://cloister.dev/serving-image/v1";
const SECCOMP_PROFILE = "cloister/serving.json";
const SERVING_USER = 65534;
const SERVING_PORT = 8080;

// ---------------------------------------------------------------------------------------------- arguments
const args = process.argv.slice(2);
let dir = path.join(here, "..", "verification", "example");
let cipCrd = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--policy-controller-crd") cipCrd = args[++i];
  else if (args[i] === "-h" || args[i] === "--help") {
    console.log("usage: node validate.mjs [RENDERED_DIR] [--policy-controller-crd CRD.yaml]");
    process.exit(0);
  } else dir = args[i];
}
if (!existsSync(dir)) {
  console.error(`validate.mjs: ${dir}: no such directory`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------- reporting
const counts = { passed: 0, failed: 0, skipped: 0 };
function check(name, problems) {
  const list = Array.isArray(problems) ? problems : problems ? [problems] : [];
  if (list.length === 0) {
    counts.passed++;
    console.log(`ok    ${name}`);
  } else {
    counts.failed++;
    console.log(`FAIL  ${name}`);
    for (const p of list.slice(0, 20)) console.log(`        ${p}`);
    if (list.length > 20) console.log(`        ... and ${list.length - 20} more`);
  }
}
function skip(name, reason) {
  counts.skipped++;
  console.log(`skip  ${name}: ${reason}`);
}

// ---------------------------------------------------------------------------------------------- schema helpers
// Runs an ajv-compiled validator on a proxy of the object that records which fields the validator read. A field
// it never read, in an object whose fields it did look at, is one the schema does not define.
function strictValidate(validate, object) {
  const reads = new WeakMap(); // target -> Set of keys read
  const proxies = new WeakMap();
  const wrap = (value) => {
    if (value === null || typeof value !== "object") return value;
    if (proxies.has(value)) return proxies.get(value);
    reads.set(value, new Set());
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === "string") reads.get(target).add(key);
        return wrap(Reflect.get(target, key, receiver));
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  const ok = validate(wrap(object));
  const problems = [];
  if (!ok) {
    for (const e of validate.errors ?? []) problems.push(`${e.instancePath || "/"}: ${e.keyword} ${JSON.stringify(e.params)}`);
  }
  const walk = (value, where) => {
    if (value === null || typeof value !== "object") return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${where}/${i}`));
      return;
    }
    const seen = reads.get(value);
    for (const key of Object.keys(value)) {
      if (seen && seen.size > 0 && !seen.has(key)) problems.push(`${where}/${key}: unknown field`);
      walk(value[key], `${where}/${key}`);
    }
  };
  walk(object, "");
  return problems;
}

// A CRD's structural openAPIV3Schema as a JSON Schema: objects that list properties get additionalProperties
// false (unknown fields fail, as with kubectl --validate=strict), the x-kubernetes-* extensions are honoured.
function crdToJsonSchema(s, root = false) {
  if (s === null || typeof s !== "object") return {};
  const out = {};
  if (s["x-kubernetes-int-or-string"]) out.anyOf = [{ type: "integer" }, { type: "string" }];
  else if (s.type) out.type = s.nullable ? [s.type, "null"] : s.type;
  if (s.enum) out.enum = s.enum;
  if (s.required) out.required = s.required;
  for (const k of ["minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "pattern"]) {
    if (s[k] !== undefined) out[k] = s[k];
  }
  if (s.items) out.items = crdToJsonSchema(s.items);
  for (const k of ["anyOf", "oneOf", "allOf"]) {
    if (Array.isArray(s[k])) out[k] = s[k].map((x) => crdToJsonSchema(x));
  }
  if (s.properties) {
    out.properties = {};
    for (const [k, v] of Object.entries(s.properties)) out.properties[k] = crdToJsonSchema(v);
  }
  if (root) {
    out.properties = out.properties ?? {};
    out.properties.apiVersion = { type: "string" };
    out.properties.kind = { type: "string" };
    out.properties.metadata = { type: "object" };
  }
  if (s.additionalProperties !== undefined) {
    out.additionalProperties = typeof s.additionalProperties === "object"
      ? crdToJsonSchema(s.additionalProperties) : s.additionalProperties;
  } else if (out.properties && !s["x-kubernetes-preserve-unknown-fields"]) {
    out.additionalProperties = false;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- inputs
function read(rel) {
  const file = path.join(dir, rel);
  if (!existsSync(file)) return null;
  return readFileSync(file, "utf8");
}
function yamlDocs(rel) {
  const text = read(rel);
  if (text === null) {
    check(`${rel}: present`, `missing in ${dir}`);
    return [];
  }
  const docs = parseAllDocuments(text);
  const problems = [];
  for (const d of docs) for (const e of d.errors) problems.push(e.message);
  check(`${rel}: parses as YAML`, problems);
  return problems.length ? [] : docs.map((d) => d.toJS()).filter((d) => d !== null);
}
const normPem = (s) => String(s ?? "").replace(/\r\n/g, "\n").trim();

// The key.
const pemText = read("host.pub.pem");
let pem = null;
if (pemText === null) check("host.pub.pem: present", `missing in ${dir}`);
else {
  try {
    const key = createPublicKey(pemText);
    check("host.pub.pem: an ECDSA P-256 public key",
      key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1"
        ? [] : `${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ""}`);
    pem = normPem(pemText);
  } catch (e) {
    check("host.pub.pem: an ECDSA P-256 public key", e.message);
  }
}
const keyProblems = (where, value) => (pem !== null && normPem(value) === pem ? [] : [`${where}: not the key in host.pub.pem`]);

// ---------------------------------------------------------------------------------------------- podman / CRI-O
let scope = null;
{
  const text = read("containers-policy.json");
  if (text === null) check("containers-policy.json: present", `missing in ${dir}`);
  else {
    let policy = null;
    try {
      policy = JSON.parse(text);
      check("containers-policy.json: parses as JSON", []);
    } catch (e) {
      check("containers-policy.json: parses as JSON", e.message);
    }
    if (policy) {
      const p = [];
      if (JSON.stringify(policy.default) !== JSON.stringify([{ type: "reject" }])) p.push(`default is ${JSON.stringify(policy.default)}, not [{"type":"reject"}]`);
      if (text.includes("insecureAcceptAnything")) p.push("insecureAcceptAnything appears");
      const transports = Object.keys(policy.transports ?? {});
      if (JSON.stringify(transports) !== JSON.stringify(["docker"])) p.push(`transports ${JSON.stringify(transports)}, expected only docker`);
      const scopes = Object.keys(policy.transports?.docker ?? {});
      if (scopes.length !== 1) p.push(`${scopes.length} docker scopes, expected 1`);
      else {
        scope = scopes[0];
        if (/[*@]/.test(scope) || scope === "") p.push(`scope '${scope}' is not host[:port][/path]`);
        const reqs = policy.transports.docker[scope];
        if (!Array.isArray(reqs) || reqs.length !== 1) p.push("expected exactly one requirement for the scope");
        else {
          const r = reqs[0];
          const keys = Object.keys(r).sort().join(",");
          if (r.type !== "sigstoreSigned") p.push(`requirement type ${r.type}`);
          if (keys !== "keyPath,signedIdentity,type" && keys !== "keyData,signedIdentity,type") p.push(`requirement fields ${keys}`);
          if (r.keyPath !== undefined && !String(r.keyPath).startsWith("/")) p.push(`keyPath ${r.keyPath} is not absolute`);
          if (r.keyData !== undefined && normPem(Buffer.from(r.keyData, "base64").toString("utf8")) !== pem) p.push("keyData is not host.pub.pem");
          if (JSON.stringify(r.signedIdentity) !== JSON.stringify({ type: "matchRepository" })) p.push(`signedIdentity ${JSON.stringify(r.signedIdentity)}`);
        }
      }
      check("containers-policy.json: default reject; only the Cloister scope, sigstoreSigned, matchRepository", p);
    }
  }
}
{
  const docs = yamlDocs("registries.d/cloister.yaml");
  if (docs.length) {
    const d = docs[0];
    const entries = Object.entries(d.docker ?? {});
    const p = [];
    if (docs.length !== 1 || Object.keys(d).join() !== "docker") p.push("expected one document with only a docker: section");
    if (entries.length !== 1) p.push(`${entries.length} scopes, expected 1`);
    else {
      const [s, cfg] = entries[0];
      if (s !== scope) p.push(`scope '${s}' differs from containers-policy.json's '${scope}'`);
      if (JSON.stringify(cfg) !== JSON.stringify({ "use-sigstore-attachments": true })) p.push(`settings ${JSON.stringify(cfg)}`);
    }
    check("registries.d/cloister.yaml: use-sigstore-attachments for the same scope", p);
  }
}

// ---------------------------------------------------------------------------------------------- Kyverno
{
  const docs = yamlDocs("kubernetes/kyverno-verify-images.yaml");
  for (const doc of docs) {
    const name = `kyverno-verify-images.yaml ${doc.kind}/${doc.metadata?.name}`;
    if (doc.apiVersion !== "kyverno.io/v1" || doc.kind !== "ClusterPolicy") {
      check(`${name}: is a kyverno.io/v1 ClusterPolicy`, `${doc.apiVersion} ${doc.kind}`);
      continue;
    }
    check(`${name}: schema (@kubernetes-models/kyverno 2.0.0, unknown fields rejected)`, strictValidate(validateClusterPolicy, doc));
    const p = [];
    const spec = doc.spec ?? {};
    const vis = (spec.rules ?? []).flatMap((r) => r.verifyImages ?? []);
    if (vis.length === 0) p.push("no verifyImages");
    if (spec.background !== false) p.push("background is not false");
    for (const [i, vi] of vis.entries()) {
      const at = `verifyImages[${i}]`;
      const action = vi.failureAction ?? spec.validationFailureAction;
      if (action !== "Enforce") p.push(`${at}: failure action ${action}, not Enforce`);
      if (scope && JSON.stringify(vi.imageReferences) !== JSON.stringify([`${scope}/*`])) p.push(`${at}: imageReferences ${JSON.stringify(vi.imageReferences)}, expected ["${scope}/*"]`);
      if (vi.verifyDigest !== true || vi.required !== true) p.push(`${at}: verifyDigest and required must be true`);
      const keyEntries = (sets, where) => {
        const entries = (sets ?? []).flatMap((s) => s.entries ?? []);
        if (entries.length === 0) p.push(`${where}: no attestors`);
        for (const e of entries) {
          if (!e.keys) { p.push(`${where}: an attestor that is not a key`); continue; }
          p.push(...keyProblems(`${where}.keys.publicKeys`, e.keys.publicKeys));
          if (e.keys.rekor?.ignoreTlog !== true) p.push(`${where}: rekor.ignoreTlog is not true (Cloister's signatures have no tlog entry)`);
          if (e.keys.ctlog?.ignoreSCT !== true) p.push(`${where}: ctlog.ignoreSCT is not true`);
        }
      };
      keyEntries(vi.attestors, `${at}.attestors`);
      const atts = vi.attestations ?? [];
      const slsa = atts.filter((a) => (a.type ?? a.predicateType) === SLSA_V1);
      if (slsa.length !== 1) p.push(`${at}: expected one attestation of type ${SLSA_V1}`);
      for (const a of slsa) {
        keyEntries(a.attestors, `${at}.attestations[${SLSA_V1}].attestors`);
        if (!JSON.stringify(a.conditions ?? []).includes(SERVING_BUILD_TYPE)) p.push(`${at}: the SLSA attestation's conditions do not name ${SERVING_BUILD_TYPE}`);
      }
    }
    check(`${name}: Enforce; key, scope, no tlog/SCT, signature + SLSA v1 provenance`, p);
  }
}

// ---------------------------------------------------------------------------------------------- policy-controller
{
  const docs = yamlDocs("kubernetes/cluster-image-policy.yaml");
  let crdValidate = null;
  if (cipCrd) {
    try {
      const crd = parseAllDocuments(readFileSync(cipCrd, "utf8")).map((d) => d.toJS())
        .find((d) => d?.kind === "CustomResourceDefinition" && d?.spec?.names?.kind === "ClusterImagePolicy");
      const version = crd?.spec?.versions?.find((v) => v.name === "v1beta1");
      if (!version?.schema?.openAPIV3Schema) throw new Error("no v1beta1 openAPIV3Schema for ClusterImagePolicy in it");
      crdValidate = new Ajv({ allErrors: true, strict: false }).compile(crdToJsonSchema(version.schema.openAPIV3Schema, true));
    } catch (e) {
      check(`--policy-controller-crd ${cipCrd}: a ClusterImagePolicy CRD`, e.message);
    }
  }
  let signatureOnly = 0;
  let provenance = 0;
  for (const doc of docs) {
    const name = `cluster-image-policy.yaml ${doc.kind}/${doc.metadata?.name}`;
    if (doc.apiVersion !== "policy.sigstore.dev/v1beta1" || doc.kind !== "ClusterImagePolicy") {
      check(`${name}: is a policy.sigstore.dev/v1beta1 ClusterImagePolicy`, `${doc.apiVersion} ${doc.kind}`);
      continue;
    }
    if (crdValidate) {
      const ok = crdValidate(doc);
      check(`${name}: schema (${path.basename(cipCrd)}, v1beta1, unknown fields rejected)`,
        ok ? [] : crdValidate.errors.map((e) => `${e.instancePath || "/"}: ${e.message} ${JSON.stringify(e.params)}`));
    } else {
      skip(`${name}: schema`, "no CRD given (--policy-controller-crd); no npm package carries policy-controller's CRD");
    }
    const p = [];
    const spec = doc.spec ?? {};
    if ((spec.mode ?? "enforce") !== "enforce") p.push(`mode ${spec.mode}`);
    if (scope && JSON.stringify(spec.images) !== JSON.stringify([{ glob: `${scope}/**` }])) p.push(`images ${JSON.stringify(spec.images)}, expected [{"glob":"${scope}/**"}]`);
    const auths = spec.authorities ?? [];
    if (auths.length !== 1) p.push(`${auths.length} authorities, expected 1 (authorities are any-of)`);
    for (const a of auths) {
      if (!a.key) p.push(`authority ${a.name}: not a key authority`);
      else {
        p.push(...keyProblems(`authority ${a.name} key.data`, a.key.data));
        if ((a.key.hashAlgorithm ?? "sha256") !== "sha256") p.push(`authority ${a.name}: hashAlgorithm ${a.key.hashAlgorithm}`);
      }
      for (const k of ["ctlog", "keyless", "static", "rfc3161timestamp", "source"]) {
        if (a[k] !== undefined) p.push(`authority ${a.name}: has ${k} (a ctlog makes policy-controller require a tlog entry, which Cloister's signatures lack)`);
      }
      if (a.attestations) {
        const slsa = a.attestations.filter((x) => x.predicateType === SLSA_V1);
        if (slsa.length !== 1 || a.attestations.length !== 1) p.push(`authority ${a.name}: expected exactly one attestation, predicateType ${SLSA_V1}`);
        else if (!String(slsa[0].policy?.data ?? "").includes(SERVING_BUILD_TYPE)) p.push(`authority ${a.name}: the attestation policy does not name ${SERVING_BUILD_TYPE}`);
        provenance++;
      } else signatureOnly++;
    }
    check(`${name}: enforce; key, scope, no ctlog (no tlog required)`, p);
  }
  if (docs.length) {
    check("cluster-image-policy.yaml: one policy for the signature and one for the SLSA provenance (both must pass)",
      signatureOnly === 1 && provenance === 1 ? [] : `${signatureOnly} signature policies, ${provenance} provenance policies`);
  }
}

// ---------------------------------------------------------------------------------------------- serving
{
  const docs = yamlDocs("kubernetes/serving-deployment.yaml");
  const validators = {
    "v1/Namespace": validateNamespace,
    "v1/ServiceAccount": validateServiceAccount,
    "apps/v1/Deployment": validateDeployment,
    "v1/Service": validateService,
    "networking.k8s.io/v1/NetworkPolicy": validateNetworkPolicy,
  };
  const byKind = {};
  for (const doc of docs) {
    const id = `${doc.apiVersion}/${doc.kind}`;
    const name = `serving-deployment.yaml ${doc.kind}/${doc.metadata?.name}`;
    const validate = validators[id];
    if (!validate) {
      check(`${name}: an expected kind`, `${id} is not one of ${Object.keys(validators).join(", ")}`);
      continue;
    }
    if (byKind[doc.kind]) check(`${name}: one ${doc.kind}`, `a second ${doc.kind}`);
    byKind[doc.kind] = doc;
    check(`${name}: schema (kubernetes-models 5.1.0, unknown fields rejected)`, strictValidate(validate, doc));
  }
  const ns = byKind.Namespace;
  const sa = byKind.ServiceAccount;
  const dep = byKind.Deployment;
  const svc = byKind.Service;
  const np = byKind.NetworkPolicy;
  for (const kind of Object.keys(byKind)) {
    if (kind !== "Namespace" && byKind[kind].metadata?.namespace !== ns?.metadata?.name) {
      check(`serving-deployment.yaml ${kind}: in the Namespace of the file`, `namespace ${byKind[kind].metadata?.namespace}`);
    }
  }
  if (ns) {
    const l = ns.metadata?.labels ?? {};
    check("Namespace: opts in to policy-controller; Pod Security 'restricted' enforced",
      [l["policy.sigstore.dev/include"] === "true" ? null : "label policy.sigstore.dev/include is not \"true\"",
        l["pod-security.kubernetes.io/enforce"] === "restricted" ? null : "pod-security.kubernetes.io/enforce is not restricted"].filter(Boolean));
  } else check("serving-deployment.yaml: has a Namespace", "missing");
  if (sa) check("ServiceAccount: automountServiceAccountToken false", sa.automountServiceAccountToken === false ? [] : "not false");
  if (!dep) check("serving-deployment.yaml: has a Deployment", "missing");
  else {
    const pod = dep.spec?.template?.spec ?? {};
    const podLabels = dep.spec?.template?.metadata?.labels ?? {};
    const psc = pod.securityContext ?? {};
    const p = [];
    if (pod.automountServiceAccountToken !== false) p.push("automountServiceAccountToken is not false");
    if (sa && pod.serviceAccountName !== sa.metadata?.name) p.push(`serviceAccountName ${pod.serviceAccountName}`);
    for (const k of ["hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace"]) if (pod[k] === true) p.push(`${k} is true`);
    if (pod.nodeSelector?.["kubernetes.io/arch"] !== "amd64") p.push("nodeSelector kubernetes.io/arch is not amd64 (the seccomp profile is x86_64 only)");
    if (psc.runAsNonRoot !== true) p.push("pod runAsNonRoot is not true");
    if (psc.runAsUser !== SERVING_USER) p.push(`pod runAsUser ${psc.runAsUser}, expected ${SERVING_USER}`);
    const sysctl = (psc.sysctls ?? []).find((s) => s.name === "net.ipv4.ping_group_range");
    if (sysctl?.value !== "1 0") p.push("sysctl net.ipv4.ping_group_range is not \"1 0\" (ICMP ping sockets stay open)");
    const volumes = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
    for (const v of pod.volumes ?? []) {
      const sources = Object.keys(v).filter((k) => k !== "name");
      if (sources.length !== 1 || !v.emptyDir) p.push(`volume ${v.name}: ${sources.join(", ")}, expected only emptyDir`);
      else if (!v.emptyDir.sizeLimit) p.push(`emptyDir ${v.name} has no sizeLimit`);
    }
    const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
    if ((pod.containers ?? []).length !== 1) p.push(`${(pod.containers ?? []).length} containers, expected 1`);
    for (const c of containers) {
      const at = `container ${c.name}`;
      const sc = c.securityContext ?? {};
      const m = /^(.+)@sha256:[0-9a-f]{64}$/.exec(c.image ?? "");
      if (!m) p.push(`${at}: image ${c.image} is not by digest`);
      else if (scope && !m[1].startsWith(`${scope}/`)) p.push(`${at}: image ${c.image} is outside ${scope}/, so no policy verifies it`);
      if (sc.allowPrivilegeEscalation !== false) p.push(`${at}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) p.push(`${at}: readOnlyRootFilesystem is not true`);
      if (sc.privileged === true) p.push(`${at}: privileged`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) p.push(`${at}: capabilities do not drop ALL`);
      if ((sc.capabilities?.add ?? []).length) p.push(`${at}: adds capabilities`);
      if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) p.push(`${at}: runAsNonRoot`);
      if ((sc.runAsUser ?? psc.runAsUser) !== SERVING_USER) p.push(`${at}: runAsUser is not ${SERVING_USER}`);
      const seccomp = sc.seccompProfile ?? psc.seccompProfile;
      if (seccomp?.type !== "Localhost" || seccomp?.localhostProfile !== SECCOMP_PROFILE) p.push(`${at}: seccomp profile is not Localhost ${SECCOMP_PROFILE}`);
      for (const r of ["requests", "limits"]) for (const k of ["cpu", "memory"]) {
        if (!c.resources?.[r]?.[k]) p.push(`${at}: no resources.${r}.${k}`);
      }
      const tmp = (c.volumeMounts ?? []).find((v) => v.mountPath === "/tmp");
      if (!tmp || !volumes[tmp.name]?.emptyDir) p.push(`${at}: /tmp is not an emptyDir`);
      const ports = c.ports ?? [];
      if (ports.length !== 1 || ports[0].containerPort !== SERVING_PORT) p.push(`${at}: ports ${JSON.stringify(ports)}, expected only ${SERVING_PORT}`);
      if (ports.some((x) => x.hostPort !== undefined)) p.push(`${at}: a hostPort`);
      for (const probe of ["livenessProbe", "readinessProbe"]) {
        const g = c[probe]?.httpGet;
        const port = g && (g.port === SERVING_PORT || ports.some((x) => x.name === g.port && x.containerPort === SERVING_PORT));
        if (!g || g.path !== "/healthz" || !port) p.push(`${at}: ${probe} is not GET /healthz on ${SERVING_PORT}`);
      }
    }
    const selector = dep.spec?.selector?.matchLabels ?? {};
    for (const [k, v] of Object.entries(selector)) if (podLabels[k] !== v) p.push(`selector ${k}=${v} does not match the pod labels`);
    check("Deployment: the locks of deploy/serving/README.md (non-root 65534, read-only root, no privilege escalation, no capabilities, Localhost seccomp, sized /tmp, no token, limits, /healthz probes, image by digest in scope)", p);

    if (svc) {
      const q = [];
      for (const [k, v] of Object.entries(svc.spec?.selector ?? {})) if (podLabels[k] !== v) q.push(`selector ${k}=${v} does not match the pod labels`);
      if (!Object.keys(svc.spec?.selector ?? {}).length) q.push("no selector");
      if ((svc.spec?.type ?? "ClusterIP") !== "ClusterIP") q.push(`type ${svc.spec.type}`);
      for (const port of svc.spec?.ports ?? []) if (port.targetPort !== SERVING_PORT && port.targetPort !== "http") q.push(`targetPort ${port.targetPort}`);
      check("Service: ClusterIP to the serving pods' port 8080", q);
    } else check("serving-deployment.yaml: has a Service", "missing");

    if (np) {
      const q = [];
      for (const [k, v] of Object.entries(np.spec?.podSelector?.matchLabels ?? {})) if (podLabels[k] !== v) q.push(`podSelector ${k}=${v} does not match the pod labels`);
      if (!Object.keys(np.spec?.podSelector?.matchLabels ?? {}).length) q.push("podSelector selects every pod");
      const types = np.spec?.policyTypes ?? [];
      if (!types.includes("Ingress") || !types.includes("Egress")) q.push(`policyTypes ${JSON.stringify(types)}`);
      if (JSON.stringify(np.spec?.egress ?? []) !== "[]") q.push(`egress ${JSON.stringify(np.spec.egress)}, expected none`);
      const ingress = np.spec?.ingress ?? [];
      if (ingress.length === 0) q.push("no ingress rule: nothing could reach the server");
      for (const rule of ingress) {
        if (JSON.stringify(rule.ports ?? null) !== JSON.stringify([{ protocol: "TCP", port: SERVING_PORT }])) q.push(`ingress ports ${JSON.stringify(rule.ports)}, expected only TCP ${SERVING_PORT}`);
      }
      check("NetworkPolicy: ingress to TCP 8080 only, no egress", q);
    } else check("serving-deployment.yaml: has a NetworkPolicy", "missing");
  }
}

// ---------------------------------------------------------------------------------------------- drift
// The committed example must be what render.sh makes today from the example's key and the default scope.
if (path.resolve(dir) === path.resolve(here, "..", "verification", "example")) {
  const tmp = mkdtempSync(path.join(tmpdir(), "cloister-render-"));
  try {
    const r = spawnSync("bash", [path.join(here, "..", "verification", "render.sh"), path.join(dir, "host.pub.pem"), tmp],
      { encoding: "utf8" });
    const p = [];
    if (r.status !== 0) p.push(`render.sh failed: ${(r.stderr || r.error?.message || "").trim()}`);
    else {
      for (const rel of ["host.pub.pem", "containers-policy.json", "registries.d/cloister.yaml",
        "kubernetes/cluster-image-policy.yaml", "kubernetes/kyverno-verify-images.yaml", "kubernetes/serving-deployment.yaml"]) {
        const want = readFileSync(path.join(tmp, rel), "utf8");
        if (read(rel) !== want) p.push(`${rel} differs from a fresh rendering (re-run: deploy/verification/render.sh deploy/verification/example/host.pub.pem deploy/verification/example)`);
      }
    }
    check("example/ is what render.sh renders from example/host.pub.pem", p);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exit(counts.failed ? 1 : 0);
