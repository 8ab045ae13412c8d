/** The "db" of the Authgent example: projects kept in memory, owned by users. */
interface Project {
  id: string;
  owner: string;
  name: string;
  description: string;
}

const store = new Map<string, Project>();
let nextId = 1;

export const projects = {
  forUser(owner: string): Project[] {
    return [...store.values()].filter((project) => project.owner === owner);
  },
  create(owner: string, name: string, description: string): Project {
    const project = { id: `p${nextId++}`, owner, name, description };
    store.set(project.id, project);
    return project;
  },
  delete(id: string, deletedBy: string): { deleted: string; deleted_by: string } | { error: string } {
    if (!store.delete(id)) return { error: `Project ${id} not found` };
    return { deleted: id, deleted_by: deletedBy };
  },
  userData(owner: string): { user_id: string; projects: number } {
    return { user_id: owner, projects: this.forUser(owner).length };
  },
};
