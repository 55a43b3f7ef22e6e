/**
 * A facade of the AWS IoT control plane (restJson1), for `IoTClient` with `AWS_ENDPOINT_URL_IOT` pointing here: the
 * calls device onboarding makes, and the reads that show their effect.
 *   CreateThing, DescribeThing                          POST|GET /things/{thingName}
 *   CreateKeysAndCertificate                            POST /keys-and-certificate?setAsActive=
 *   CreateCertificateFromCsr                            POST /certificates?setAsActive=
 *   DescribeCertificate, UpdateCertificate              GET|PUT /certificates/{certificateId}[?newStatus=]
 *   AttachPolicy, DetachPolicy                          PUT|POST /target-policies/{policyName}
 *   ListAttachedPolicies                                POST /attached-policies/{target}
 *   AttachThingPrincipal, DetachThingPrincipal,         PUT|DELETE|GET /things/{thingName}/principals
 *   ListThingPrincipals                                 (principal in `x-amzn-principal`)
 * Certificates come from the local CA (local-ca.ts); state lives in identities.ts. Policies are the template's
 * (AWS::IoT::Policy): attaching another name is ResourceNotFoundException, as in IoT Core. Any other operation is
 * answered with an AWS-shaped error naming what is supported. Limits: no SigV4 verification, no paging (every list
 * fits one page), no thing types, groups, CA registration or certificate transfer.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { IotError, type IotIdentities } from './identities.ts';
import { CsrError, type LocalCa } from './local-ca.ts';
import { sendJson } from './rest-json.ts';

export interface ControlPlaneOptions {
  host: string;
  port: number;
  ca: LocalCa;
  identities: IotIdentities;
  log: (line: string) => void;
}

const MAX_BODY = 64 * 1024;

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return reject(new IotError(413, 'InvalidRequestException', 'Request body too large'));
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text.trim()) return resolve({});
      try {
        const parsed: unknown = JSON.parse(text);
        resolve(
          parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {},
        );
      } catch {
        reject(new IotError(400, 'InvalidRequestException', 'Request body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

const SUPPORTED =
  'CreateThing, DescribeThing, CreateKeysAndCertificate, CreateCertificateFromCsr, DescribeCertificate, UpdateCertificate, AttachPolicy, DetachPolicy, ListAttachedPolicies, AttachThingPrincipal, DetachThingPrincipal, ListThingPrincipals';

const STATUSES = new Set(['ACTIVE', 'INACTIVE', 'REVOKED']);

function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new IotError(400, 'InvalidRequestException', `Path segment is not valid URL encoding: ${raw}`);
  }
}

function principalOf(req: IncomingMessage): string {
  const principal = req.headers['x-amzn-principal'];
  if (typeof principal !== 'string' || !principal)
    throw new IotError(400, 'InvalidRequestException', 'x-amzn-principal is required');
  return principal;
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: ControlPlaneOptions): Promise<string> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const method = req.method ?? 'GET';
  const parts = url.pathname.split('/').filter(Boolean).map(segment);
  const { identities: ids, ca } = opts;
  const setAsActive = url.searchParams.get('setAsActive') === 'true';
  const [root, name, sub] = parts;

  if (root === 'things' && name && parts.length === 2) {
    if (method === 'POST') {
      const body = await readJson(req);
      const payload = body.attributePayload as { attributes?: Record<string, string> } | undefined;
      const thing = ids.createThing(name, payload?.attributes ?? {});
      sendJson(res, 200, { thingName: thing.thingName, thingArn: thing.thingArn, thingId: thing.thingId });
      return `CreateThing ${name}`;
    }
    if (method === 'GET') {
      const t = ids.thing(name);
      sendJson(res, 200, {
        defaultClientId: t.thingName,
        thingName: t.thingName,
        thingId: t.thingId,
        thingArn: t.thingArn,
        attributes: t.attributes,
        version: t.version,
      });
      return `DescribeThing ${name}`;
    }
  }
  if (root === 'things' && name && sub === 'principals' && parts.length === 3) {
    if (method === 'PUT') {
      const exclusive = url.searchParams.get('thingPrincipalType') === 'EXCLUSIVE_THING';
      ids.attachThingPrincipal(name, principalOf(req), exclusive);
      sendJson(res, 200, {});
      return `AttachThingPrincipal ${name}${exclusive ? ' (exclusive)' : ''}`;
    }
    if (method === 'DELETE') {
      ids.detachThingPrincipal(name, principalOf(req));
      sendJson(res, 200, {});
      return `DetachThingPrincipal ${name}`;
    }
    if (method === 'GET') {
      sendJson(res, 200, { principals: ids.thingPrincipals(name) });
      return `ListThingPrincipals ${name}`;
    }
  }
  if (root === 'keys-and-certificate' && parts.length === 1 && method === 'POST') {
    req.resume();
    const issued = await ca.issueWithNewKey();
    const cert = ids.addCertificate(issued.certificateId, issued.certificatePem, setAsActive ? 'ACTIVE' : 'INACTIVE');
    sendJson(res, 200, {
      certificateArn: cert.certificateArn,
      certificateId: cert.certificateId,
      certificatePem: cert.certificatePem,
      keyPair: { PublicKey: issued.publicKeyPem, PrivateKey: issued.privateKeyPem },
    });
    return `CreateKeysAndCertificate ${cert.certificateId}`;
  }
  if (root === 'certificates' && parts.length === 1 && method === 'POST') {
    const body = await readJson(req);
    const csr = body.certificateSigningRequest;
    if (typeof csr !== 'string')
      throw new IotError(400, 'InvalidRequestException', 'certificateSigningRequest is required');
    let issued: Awaited<ReturnType<LocalCa['issueFromCsr']>>;
    try {
      issued = await ca.issueFromCsr(csr);
    } catch (err) {
      if (err instanceof CsrError) throw new IotError(400, 'InvalidRequestException', err.message);
      throw err;
    }
    const cert = ids.addCertificate(issued.certificateId, issued.certificatePem, setAsActive ? 'ACTIVE' : 'INACTIVE');
    sendJson(res, 200, {
      certificateArn: cert.certificateArn,
      certificateId: cert.certificateId,
      certificatePem: cert.certificatePem,
    });
    return `CreateCertificateFromCsr ${cert.certificateId}`;
  }
  if (root === 'certificates' && name && parts.length === 2) {
    if (method === 'GET') {
      const c = ids.certificate(name);
      sendJson(res, 200, {
        certificateDescription: {
          certificateArn: c.certificateArn,
          certificateId: c.certificateId,
          status: c.status,
          certificatePem: c.certificatePem,
          ownedBy: ids.ownerAccount,
          creationDate: c.creationDate,
          lastModifiedDate: c.lastModifiedDate,
          customerVersion: 1,
          certificateMode: 'DEFAULT',
        },
      });
      return `DescribeCertificate ${name}`;
    }
    if (method === 'PUT') {
      req.resume();
      const status = url.searchParams.get('newStatus') ?? '';
      if (!STATUSES.has(status))
        throw new IotError(
          400,
          'InvalidRequestException',
          `newStatus must be ACTIVE, INACTIVE or REVOKED, got ${status}`,
        );
      ids.updateCertificate(name, status as 'ACTIVE' | 'INACTIVE' | 'REVOKED');
      sendJson(res, 200, {});
      return `UpdateCertificate ${name} ${status}`;
    }
  }
  if (root === 'target-policies' && name && parts.length === 2 && (method === 'PUT' || method === 'POST')) {
    const target = (await readJson(req)).target;
    if (typeof target !== 'string') throw new IotError(400, 'InvalidRequestException', 'target is required');
    if (method === 'PUT') ids.attachPolicy(name, target);
    else ids.detachPolicy(name, target);
    sendJson(res, 200, {});
    return `${method === 'PUT' ? 'AttachPolicy' : 'DetachPolicy'} ${name}`;
  }
  if (root === 'attached-policies' && name && method === 'POST') {
    req.resume();
    const target = parts.slice(1).join('/');
    const policies = ids.attachedPolicies(target).map((p) => ({ policyName: p, policyArn: ids.policyArn(p) }));
    sendJson(res, 200, { policies });
    return 'ListAttachedPolicies';
  }
  req.resume();
  throw new IotError(
    404,
    'ResourceNotFoundException',
    `No operation of the local IoT control plane matches ${method} ${url.pathname} (supported: ${SUPPORTED})`,
  );
}

/** Starts the control plane; resolves once it listens. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<Server> {
  const server = createServer((req, res) => {
    handle(req, res, opts).then(
      (done) => opts.log(`iot-control: ${done}`),
      (err: unknown) => {
        if (err instanceof IotError) {
          opts.log(`iot-control: ${req.method} ${req.url} → ${err.status} ${err.type}: ${err.message}`);
          sendJson(res, err.status, { message: err.message, ...err.extra }, err.type);
          return;
        }
        opts.log(`iot-control: ${req.method} ${req.url} failed: ${err instanceof Error ? err.message : String(err)}`);
        sendJson(res, 500, { message: 'Internal failure' }, 'InternalFailureException');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
