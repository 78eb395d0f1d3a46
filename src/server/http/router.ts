/** What a route handler gets: the decoded path parameters. */
export type RouteParams = Readonly<Record<string, string>>;

/** The result of looking up a request. */
export type RouteMatch<H> =
  | { readonly kind: 'found'; readonly handler: H; readonly params: RouteParams; readonly pattern: string }
  | { readonly kind: 'method_not_allowed'; readonly allowed: readonly string[] }
  | { readonly kind: 'not_found' };

interface Route<H> {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly handler: H;
}

/**
 * A small exact-segment router: patterns like `/api/channels/:id/members/:userId`, where a
 * `:name` segment matches one non-empty path segment (percent-decoded). Routes are tried in the
 * order added; a path that matches with another method answers "method not allowed".
 */
export class Router<H> {
  readonly #routes: Route<H>[] = [];

  /** Adds a route. */
  add(method: string, pattern: string, handler: H): this {
    this.#routes.push({ method, pattern, segments: pattern.split('/').slice(1), handler });
    return this;
  }

  /** Finds the route for a method and a path (without query string). */
  find(method: string, path: string): RouteMatch<H> {
    const parts = path.split('/').slice(1);
    const allowed: string[] = [];
    for (const route of this.#routes) {
      const params = match(route.segments, parts);
      if (params === undefined) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) {
        return { kind: 'found', handler: route.handler, params, pattern: route.pattern };
      }
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: 'method_not_allowed', allowed } : { kind: 'not_found' };
  }
}

function match(segments: readonly string[], parts: readonly string[]): RouteParams | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const part = parts[i] as string;
    if (segment.startsWith(':')) {
      if (part === '') return undefined;
      try {
        params[segment.slice(1)] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    } else if (segment !== part) {
      return undefined;
    }
  }
  return params;
}
