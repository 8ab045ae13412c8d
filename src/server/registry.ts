import type { Prompt, Resource, ResourceTemplateType, Tool, Variables } from "@modelcontextprotocol/server";
import { hasRules, type ComponentAccess } from "../auth/authorization.js";
import { ComponentDefinitionError } from "../errors.js";
import type { PromptEntry } from "./components/prompt.js";
import type { ResourceEntry, ResourceTemplateEntry } from "./components/resource.js";
import type { ToolEntry } from "./components/tool.js";

export type ComponentKind = "tool" | "resource" | "resourceTemplate" | "prompt";

/**
 * The server's components, keyed for lookup, with their listings cached so that a list request
 * costs an array read, not a rebuild. Changes notify the owner (list_changed notifications).
 */
export class Registry {
  private readonly tools = new Map<string, ToolEntry>();
  private readonly resources = new Map<string, ResourceEntry>();
  private readonly templates = new Map<string, ResourceTemplateEntry>();
  private readonly prompts = new Map<string, PromptEntry>();
  private toolListCache: Tool[] | undefined;
  private resourceListCache: Resource[] | undefined;
  private templateListCache: ResourceTemplateType[] | undefined;
  private promptListCache: Prompt[] | undefined;
  private readonly ruled = new Map<ComponentKind, boolean>();

  constructor(private readonly onChange: (kind: ComponentKind) => void) {}

  addTool(entry: ToolEntry): void {
    this.insert(this.tools, entry.name, entry, "tool", `A tool named "${entry.name}"`);
  }

  addResource(entry: ResourceEntry): void {
    this.insert(this.resources, entry.uri, entry, "resource", `A resource with uri "${entry.uri}"`);
  }

  addResourceTemplate(entry: ResourceTemplateEntry): void {
    this.insert(this.templates, entry.definition.uriTemplate, entry, "resourceTemplate", `A resource template "${entry.definition.uriTemplate}"`);
  }

  addPrompt(entry: PromptEntry): void {
    this.insert(this.prompts, entry.name, entry, "prompt", `A prompt named "${entry.name}"`);
  }

  remove(kind: ComponentKind, key: string): boolean {
    const removed = this.mapFor(kind).delete(key);
    if (removed) this.changed(kind);
    return removed;
  }

  tool(name: string): ToolEntry | undefined {
    return this.tools.get(name);
  }

  resource(uri: string): ResourceEntry | undefined {
    return this.resources.get(uri);
  }

  prompt(name: string): PromptEntry | undefined {
    return this.prompts.get(name);
  }

  templateByUriTemplate(uriTemplate: string): ResourceTemplateEntry | undefined {
    return this.templates.get(uriTemplate);
  }

  /** The first template whose pattern matches `uri`, with the variables it extracted. */
  matchTemplate(uri: string): { entry: ResourceTemplateEntry; variables: Variables } | undefined {
    for (const entry of this.templates.values()) {
      const variables = entry.template.match(uri);
      if (variables) return { entry, variables };
    }
    return undefined;
  }

  toolEntries(): IterableIterator<ToolEntry> {
    return this.tools.values();
  }

  resourceEntries(): IterableIterator<ResourceEntry> {
    return this.resources.values();
  }

  templateEntries(): IterableIterator<ResourceTemplateEntry> {
    return this.templates.values();
  }

  promptEntries(): IterableIterator<PromptEntry> {
    return this.prompts.values();
  }

  toolList(): Tool[] {
    return (this.toolListCache ??= [...this.tools.values()].map((entry) => entry.definition));
  }

  resourceList(): Resource[] {
    return (this.resourceListCache ??= [...this.resources.values()].map((entry) => entry.definition));
  }

  templateList(): ResourceTemplateType[] {
    return (this.templateListCache ??= [...this.templates.values()].map((entry) => entry.definition));
  }

  promptList(): Prompt[] {
    return (this.promptListCache ??= [...this.prompts.values()].map((entry) => entry.definition));
  }

  /** Whether any component of this kind has access rules (when none has, lists need no filtering). */
  hasAccessRules(kind: ComponentKind): boolean {
    let ruled = this.ruled.get(kind);
    if (ruled === undefined) {
      ruled = [...(this.mapFor(kind) as Map<string, { access: ComponentAccess }>).values()].some((entry) => hasRules(entry.access));
      this.ruled.set(kind, ruled);
    }
    return ruled;
  }

  counts(): Record<ComponentKind, number> {
    return { tool: this.tools.size, resource: this.resources.size, resourceTemplate: this.templates.size, prompt: this.prompts.size };
  }

  private insert<T>(map: Map<string, T>, key: string, entry: T, kind: ComponentKind, what: string): void {
    if (map.has(key)) throw new ComponentDefinitionError(`${what} is already registered`);
    map.set(key, entry);
    this.changed(kind);
  }

  private mapFor(kind: ComponentKind): Map<string, unknown> {
    switch (kind) {
      case "tool": return this.tools;
      case "resource": return this.resources;
      case "resourceTemplate": return this.templates;
      case "prompt": return this.prompts;
    }
  }

  private changed(kind: ComponentKind): void {
    this.ruled.delete(kind);
    if (kind === "tool") this.toolListCache = undefined;
    else if (kind === "resource") this.resourceListCache = undefined;
    else if (kind === "resourceTemplate") this.templateListCache = undefined;
    else this.promptListCache = undefined;
    this.onChange(kind);
  }
}
