/**
 * The Flatfile client of the functions: the endpoints they call, over fetch (flatfile-http.ts),
 * typed with the SDK's own request and response types (`import type`: none of the SDK's code is
 * bundled). Each endpoint's method, path, query names and body are those of the SDK's generated
 * client (`@flatfile/api/api/resources/<name>/client/Client.js`); the wire test
 * (test/shared/core/flatfile-client-wire.test.ts) sends every one through both and compares what
 * reaches the server.
 *
 * The SDK serializes bodies with `unrecognizedObjectKeys: "strip"`; this client sends them as
 * given, so a key the SDK would drop reaches the stand-in, which rejects it (its schemas are
 * strict). Answers are not converted: the SDK's date fields arrive as ISO strings, not `Date`s.
 */
import type { Flatfile } from "@flatfile/api";
import { createTransport, type QueryValue, type TransportOptions } from "./flatfile-http";

export { DEFAULT_RETRY_POLICY, FlatfileApiError, type RetryPolicy } from "./flatfile-http";

export const DEFAULT_FLATFILE_API_URL = "https://platform.flatfile.com/api/v1";

export interface FlatfileClientOptions extends Omit<TransportOptions, "baseUrl"> {
  /** Base URL with or without `/v1`. Defaults to the production API. */
  baseUrl?: string;
}

export function normalizeApiUrl(url: string | undefined): string {
  const base = (url ?? DEFAULT_FLATFILE_API_URL).replace(/\/+$/, "");
  return base.endsWith("/v1") ? base : `${base}/v1`;
}

/** The endpoints the functions call, with the SDK's signatures (less its per-request options). */
export interface FlatfileApi {
  readonly apps: {
    get(appId: Flatfile.AppId): Promise<Flatfile.AppResponse>;
  };
  readonly commits: {
    complete(commitId: Flatfile.CommitId): Promise<Flatfile.Success>;
  };
  readonly documents: {
    create(spaceId: Flatfile.SpaceId, request: Flatfile.DocumentConfig): Promise<Flatfile.DocumentResponse>;
    get(spaceId: Flatfile.SpaceId, documentId: Flatfile.DocumentId): Promise<Flatfile.DocumentResponse>;
    list(spaceId: Flatfile.SpaceId): Promise<Flatfile.ListDocumentsResponse>;
    update(
      spaceId: Flatfile.SpaceId,
      documentId: Flatfile.DocumentId,
      request: Flatfile.DocumentConfig,
    ): Promise<Flatfile.DocumentResponse>;
  };
  readonly guests: {
    get(guestId: Flatfile.GuestId): Promise<Flatfile.GuestResponse>;
  };
  readonly jobs: {
    get(jobId: Flatfile.JobId): Promise<Flatfile.JobResponse>;
    ack(jobId: Flatfile.JobId, request?: Flatfile.JobAckDetails): Promise<Flatfile.JobResponse>;
    complete(jobId: Flatfile.JobId, request?: Flatfile.JobCompleteDetails): Promise<Flatfile.JobResponse>;
    fail(jobId: Flatfile.JobId, request?: Flatfile.JobCompleteDetails): Promise<Flatfile.JobResponse>;
  };
  readonly records: {
    get(sheetId: Flatfile.SheetId, request?: Flatfile.GetRecordsRequest): Promise<Flatfile.GetRecordsResponse>;
  };
  readonly sheets: {
    duplicateSheet(sheetId: Flatfile.SheetId, request?: Flatfile.DuplicateSheetRequest): Promise<Flatfile.SheetResponse>;
    getRecordCounts(sheetId: Flatfile.SheetId, request?: Flatfile.GetRecordCountsRequest): Promise<Flatfile.RecordCountsResponse>;
  };
  readonly spaces: {
    get(spaceId: Flatfile.SpaceId): Promise<Flatfile.SpaceResponse>;
    update(spaceId: Flatfile.SpaceId, request: Flatfile.SpaceConfig): Promise<Flatfile.SpaceResponse>;
  };
  readonly users: {
    get(userId: Flatfile.UserId): Promise<Flatfile.UserResponse>;
  };
  readonly workbooks: {
    create(request: Flatfile.CreateWorkbookConfig): Promise<Flatfile.WorkbookResponse>;
    get(workbookId: Flatfile.WorkbookId): Promise<Flatfile.WorkbookResponse>;
    list(request?: Flatfile.ListWorkbooksRequest): Promise<Flatfile.ListWorkbooksResponse>;
    update(workbookId: Flatfile.WorkbookId, request: Flatfile.WorkbookUpdate): Promise<Flatfile.WorkbookResponse>;
  };
}

const id = encodeURIComponent;

/** Query parameters as the SDK's `_queryParams`: every key it knows, in its order, only when set. */
function pick<T extends object>(request: T | undefined, keys: readonly (keyof T & string)[]): Record<string, QueryValue> {
  const query: Record<string, QueryValue> = {};
  for (const key of keys) query[key] = request?.[key] as QueryValue;
  return query;
}

/** One client per deadline; it holds no connection state of its own (fetch pools them). */
export function createFlatfileClient(options: FlatfileClientOptions): FlatfileApi {
  const send = createTransport({ ...options, baseUrl: normalizeApiUrl(options.baseUrl) });
  return {
    apps: {
      get: (appId) => send({ method: "GET", path: `/apps/${id(appId)}` }),
    },
    commits: {
      complete: (commitId) => send({ method: "POST", path: `/commits/${id(commitId)}/complete` }),
    },
    documents: {
      create: (spaceId, request) => send({ method: "POST", path: `/spaces/${id(spaceId)}/documents`, body: request }),
      get: (spaceId, documentId) => send({ method: "GET", path: `/spaces/${id(spaceId)}/documents/${id(documentId)}` }),
      list: (spaceId) => send({ method: "GET", path: `/spaces/${id(spaceId)}/documents` }),
      update: (spaceId, documentId, request) =>
        send({ method: "PATCH", path: `/spaces/${id(spaceId)}/documents/${id(documentId)}`, body: request }),
    },
    guests: {
      get: (guestId) => send({ method: "GET", path: `/guests/${id(guestId)}` }),
    },
    jobs: {
      get: (jobId) => send({ method: "GET", path: `/jobs/${id(jobId)}` }),
      ack: (jobId, request) => send({ method: "POST", path: `/jobs/${id(jobId)}/ack`, body: request }),
      complete: (jobId, request) => send({ method: "POST", path: `/jobs/${id(jobId)}/complete`, body: request }),
      fail: (jobId, request) => send({ method: "POST", path: `/jobs/${id(jobId)}/fail`, body: request }),
    },
    records: {
      get: (sheetId, request) =>
        send({
          method: "GET",
          path: `/sheets/${id(sheetId)}/records`,
          query: pick(request, [
            "versionId",
            "commitId",
            "sinceVersionId",
            "sinceCommitId",
            "sortField",
            "sortDirection",
            "filter",
            "filterField",
            "searchValue",
            "searchField",
            "ids",
            "pageSize",
            "pageNumber",
            "includeCounts",
            "includeLength",
            "includeLinks",
            "includeMessages",
            "fields",
            "for",
            "q",
          ]),
        }),
    },
    sheets: {
      duplicateSheet: (sheetId, request) => send({ method: "POST", path: `/sheets/${id(sheetId)}/duplicate`, body: request ?? {} }),
      getRecordCounts: (sheetId, request) =>
        send({
          method: "GET",
          path: `/sheets/${id(sheetId)}/counts`,
          query: pick(request, [
            "versionId",
            "sinceVersionId",
            "commitId",
            "sinceCommitId",
            "filter",
            "filterField",
            "searchValue",
            "searchField",
            "byField",
            "q",
          ]),
        }),
    },
    spaces: {
      get: (spaceId) => send({ method: "GET", path: `/spaces/${id(spaceId)}` }),
      update: (spaceId, request) => send({ method: "PATCH", path: `/spaces/${id(spaceId)}`, body: request }),
    },
    users: {
      get: (userId) => send({ method: "GET", path: `/users/${id(userId)}` }),
    },
    workbooks: {
      create: (request) => send({ method: "POST", path: "/workbooks", body: request }),
      get: (workbookId) => send({ method: "GET", path: `/workbooks/${id(workbookId)}` }),
      list: (request) =>
        send({
          method: "GET",
          path: "/workbooks",
          query: pick(request, ["spaceId", "name", "namespace", "label", "treatment", "includeSheets", "includeCounts"]),
        }),
      update: (workbookId, request) => send({ method: "PATCH", path: `/workbooks/${id(workbookId)}`, body: request }),
    },
  };
}
