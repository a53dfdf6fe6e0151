import { ContextConsumer } from '@lit/context';
import { css, html, LitElement, nothing } from 'lit';
import { I18nController, formatDateTime, formatNumber, t } from '../i18n/index.js';
import { AUDIT_LOG, RESET_USER_PASSWORD, UPDATE_USER, USERS } from '../lib/admin-operations.js';
import { graphqlContext } from '../lib/contexts.js';
import { emitError, emitNotice } from '../lib/events.js';
import { icons } from '../lib/icons.js';
import { dayTokens, parseQuota, totalTokens } from '../lib/usage.js';
import { dialogStyles, sharedStyles } from '../styles/shared.js';
import './confirm-dialog.js';
import './usage-chart.js';

const PAGE_SIZE = 20;
const DAYS = 30;
const SEARCH_DELAY_MS = 250;

/**
 * The admin page, a dialog for admins only (the API refuses everyone else): the users with
 * search and paging, each with their usage, state, role and quotas, which it changes
 * (disable and enable, role, quotas, a new password shown once), and the audit log.
 *
 *   <admin-page></admin-page>   ...   element.show();
 *
 * @fires api-error - {error}: a request failed (FORBIDDEN for a plain user)
 * @fires notice - {message}: a change was saved
 */
export class AdminPage extends LitElement {
  static properties = {
    _tab: { state: true },
    _query: { state: true },
    _users: { state: true },
    _usersCursor: { state: true },
    _entries: { state: true },
    _entriesCursor: { state: true },
    _loading: { state: true },
    _password: { state: true },
    _invalid: { state: true },
    _confirmReset: { state: true },
  };

  static styles = [
    sharedStyles,
    dialogStyles,
    css`
      dialog {
        width: min(56rem, calc(100vw - 1rem));
        height: min(44rem, calc(100vh - 2rem));
        padding: 0;
      }
      dialog[open] {
        display: flex;
        flex-direction: column;
      }
      header {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem;
        padding: 0.75rem;
        border-bottom: 1px solid var(--border);
      }
      h2 {
        margin: 0;
        font-size: 1rem;
        flex: 1;
      }
      [role='tablist'] {
        display: flex;
        gap: 0.3rem;
      }
      [role='tab'][aria-selected='true'] {
        border-color: var(--accent);
        font-weight: 600;
      }
      .content {
        overflow-y: auto;
        padding: 0.75rem;
        flex: 1;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
        display: flex;
        flex-direction: column;
        gap: 0.6rem;
      }
      .user {
        border: 1px solid var(--border);
        border-radius: var(--radius);
        padding: 0.6rem;
        display: grid;
        grid-template-columns: minmax(10rem, 1fr) minmax(12rem, 2fr);
        gap: 0.6rem;
      }
      .user.disabled {
        opacity: 0.75;
      }
      .name {
        font-weight: 600;
        overflow-wrap: anywhere;
      }
      .muted {
        color: var(--fg-muted);
        font-size: 0.85rem;
      }
      .controls {
        display: flex;
        flex-wrap: wrap;
        gap: 0.4rem;
        align-items: flex-end;
      }
      .field {
        display: flex;
        flex-direction: column;
        gap: 0.15rem;
        font-size: 0.8rem;
      }
      .field input {
        width: 8rem;
      }
      .password {
        margin-top: 0.4rem;
        padding: 0.5rem;
        border: 1px dashed var(--accent);
        border-radius: var(--radius);
        overflow-wrap: anywhere;
      }
      .password code {
        font-size: 1rem;
        user-select: all;
      }
      .entry {
        border-bottom: 1px solid var(--border);
        padding: 0.4rem 0;
        overflow-wrap: anywhere;
      }
      .status {
        padding: 0.5rem;
        color: var(--fg-muted);
      }
      @media (max-width: 768px) {
        .user {
          grid-template-columns: 1fr;
        }
        .field input {
          width: 100%;
        }
      }
    `,
  ];

  #graphql = new ContextConsumer(this, { context: graphqlContext });

  constructor() {
    super();
    this._tab = 'users';
    this._query = '';
    this._users = [];
    this._usersCursor = null;
    this._entries = [];
    this._entriesCursor = null;
    this._loading = false;
    // The one-time password just made: `{ userId, password }`, shown until the page closes.
    this._password = null;
    this._invalid = {};
    // The user whose password is about to be reset, while the question is asked.
    this._confirmReset = null;
    this._loadToken = 0;
    new I18nController(this);
  }

  /** Open the page on its list of users, loaded afresh. */
  async show() {
    await this.updateComplete;
    const dialog = this.renderRoot.querySelector('dialog');
    if (!dialog.open) dialog.showModal();
    this.renderRoot.querySelector('[role="tab"][aria-selected="true"]').focus();
    this._password = null;
    this.#loadUsers();
  }

  render() {
    return html`<dialog aria-labelledby="admin-title" @close=${() => (this._password = null)}>
      <header>
        <h2 id="admin-title">${t('admin.title')}</h2>
        <div role="tablist" aria-label=${t('admin.sections')}>
          ${this.#tab('users', t('admin.users'))} ${this.#tab('audit', t('admin.audit'))}
        </div>
        <button
          type="button"
          class="quiet icon"
          aria-label=${t('admin.close')}
          @click=${() => this.renderRoot.querySelector('dialog').close()}
        >
          ${icons.close}
        </button>
      </header>
      <div class="content" role="tabpanel" aria-labelledby="tab-${this._tab}">
        ${this._tab === 'users' ? this.#renderUsers() : this.#renderAudit()}
        <div role="status" class="status">${this._loading ? t('admin.loading') : ''}</div>
      </div>
      <confirm-dialog
        .open=${this._confirmReset !== null}
        message=${
          this._confirmReset
            ? t('admin.resetConfirm', { username: this._confirmReset.username })
            : ''
        }
        confirmLabel=${t('admin.resetPassword')}
        @confirm=${this.#resetPassword}
        @cancel=${() => (this._confirmReset = null)}
      ></confirm-dialog>
    </dialog>`;
  }

  #tab(name, label) {
    const selected = this._tab === name;
    return html`<button
      type="button"
      role="tab"
      id="tab-${name}"
      aria-selected=${selected ? 'true' : 'false'}
      tabindex=${selected ? 0 : -1}
      @click=${() => this.#select(name)}
      @keydown=${this.#onTabKey}
    >
      ${label}
    </button>`;
  }

  #onTabKey(event) {
    if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
    event.preventDefault();
    const next = this._tab === 'users' ? 'audit' : 'users';
    this.#select(next);
    this.updateComplete.then(() => this.renderRoot.querySelector(`#tab-${next}`)?.focus());
  }

  #select(name) {
    if (this._tab === name) return;
    this._tab = name;
    if (name === 'audit') this.#loadAudit();
    else this.#loadUsers();
  }

  #renderUsers() {
    return html`
      <form role="search" @submit=${(event) => event.preventDefault()}>
        <label class="visually-hidden" for="user-search">${t('admin.search')}</label>
        <input
          id="user-search"
          type="search"
          placeholder=${t('admin.search')}
          .value=${this._query}
          @input=${this.#onSearch}
        />
      </form>
      <ul aria-label=${t('admin.users')}>
        ${this._users.map((user) => this.#renderUser(user))}
      </ul>
      ${
        !this._loading && this._users.length === 0
          ? html`<p class="status">${t('admin.noUsers')}</p>`
          : nothing
      }
      ${
        this._usersCursor && !this._loading
          ? html`<button type="button" class="quiet" @click=${() => this.#loadUsers(true)}>
              ${t('admin.more')}
            </button>`
          : nothing
      }
    `;
  }

  #renderUser(user) {
    const today = user.usage.at(-1);
    const invalid = this._invalid[user.id] ?? {};
    const shown = this._password?.userId === user.id ? this._password.password : null;
    return html`<li class="user ${user.disabled ? 'disabled' : ''}" data-user=${user.username}>
      <div>
        <div class="name">${user.username}</div>
        <div class="muted">
          ${user.role === 'ADMIN' ? t('admin.roleAdmin') : t('admin.roleUser')} ·
          ${user.disabled ? t('admin.disabled') : t('admin.enabled')}
        </div>
        <div class="muted">
          ${t('admin.tokensToday', { tokens: formatNumber(today ? dayTokens(today) : 0) })} ·
          ${t('admin.tokens30', { tokens: formatNumber(totalTokens(user.usage)) })}
        </div>
        <usage-chart .days=${user.usage}></usage-chart>
      </div>
      <div>
        <div class="controls">
          <div class="field">
            <label for="role-${user.id}">${t('admin.role')}</label>
            <select
              id="role-${user.id}"
              @change=${(event) => this.#update(user, { role: event.target.value })}
            >
              <option value="USER" ?selected=${user.role === 'USER'}>${t('admin.roleUser')}</option>
              <option value="ADMIN" ?selected=${user.role === 'ADMIN'}>
                ${t('admin.roleAdmin')}
              </option>
            </select>
          </div>
          <button
            type="button"
            class="toggle"
            @click=${() => this.#update(user, { disabled: !user.disabled })}
          >
            ${user.disabled ? t('admin.enable') : t('admin.disable')}
          </button>
          <button type="button" class="reset" @click=${() => (this._confirmReset = user)}>
            ${t('admin.resetPassword')}
          </button>
        </div>
        <form class="controls" @submit=${(event) => this.#saveQuotas(event, user)}>
          ${this.#quotaField(user, 'daily', user.quota?.dailyTokens, invalid.daily)}
          ${this.#quotaField(user, 'monthly', user.quota?.monthlyTokens, invalid.monthly)}
          <button type="submit">${t('admin.saveQuotas')}</button>
        </form>
        ${
          shown
            ? html`<div class="password" role="alert">
                ${t('admin.newPassword', { username: user.username })}
                <code>${shown}</code>
              </div>`
            : nothing
        }
      </div>
    </li>`;
  }

  #quotaField(user, period, value, invalid) {
    const id = `${period}-${user.id}`;
    return html`<div class="field">
      <label for=${id}>${t(`admin.${period}Quota`)}</label>
      <input
        id=${id}
        name=${period}
        inputmode="numeric"
        placeholder=${t('admin.defaultQuota')}
        .value=${value == null ? '' : String(value)}
        aria-invalid=${invalid ? 'true' : 'false'}
        aria-describedby=${invalid ? `${id}-error` : nothing}
      />
      ${
        invalid
          ? html`<span id="${id}-error" class="error-text">${t('admin.quotaInvalid')}</span>`
          : nothing
      }
    </div>`;
  }

  #renderAudit() {
    return html`
      <ul aria-label=${t('admin.audit')}>
        ${this._entries.map(
          (entry) =>
            html`<li class="entry">
              <div>
                <strong>${entry.actor}</strong> · ${t(`admin.action.${entry.action}`)} ·
                ${entry.target ?? ''}
              </div>
              <div class="muted">
                ${formatDateTime(entry.createdAt)} · ${JSON.stringify(entry.detail ?? {})}
              </div>
            </li>`,
        )}
      </ul>
      ${
        !this._loading && this._entries.length === 0
          ? html`<p class="status">${t('admin.noEntries')}</p>`
          : nothing
      }
      ${
        this._entriesCursor && !this._loading
          ? html`<button type="button" class="quiet" @click=${() => this.#loadAudit(true)}>
              ${t('admin.more')}
            </button>`
          : nothing
      }
    `;
  }

  #onSearch(event) {
    this._query = event.target.value;
    clearTimeout(this._timer);
    this._timer = setTimeout(() => this.#loadUsers(), SEARCH_DELAY_MS);
  }

  async #loadUsers(more = false) {
    const loadToken = ++this._loadToken;
    this._loading = true;
    try {
      const { users } = await this.#graphql.value.request(USERS, {
        first: PAGE_SIZE,
        after: more ? this._usersCursor : null,
        search: this._query.trim() || null,
        days: DAYS,
      });
      if (loadToken !== this._loadToken) return;
      const nodes = users.edges.map((edge) => edge.node);
      this._users = more ? [...this._users, ...nodes] : nodes;
      this._usersCursor = users.pageInfo.hasNextPage ? users.pageInfo.endCursor : null;
    } catch (error) {
      if (loadToken === this._loadToken) emitError(this, error);
    } finally {
      if (loadToken === this._loadToken) this._loading = false;
    }
  }

  async #loadAudit(more = false) {
    const loadToken = ++this._loadToken;
    this._loading = true;
    try {
      const { auditLog } = await this.#graphql.value.request(AUDIT_LOG, {
        first: PAGE_SIZE,
        after: more ? this._entriesCursor : null,
      });
      if (loadToken !== this._loadToken) return;
      const nodes = auditLog.edges.map((edge) => edge.node);
      this._entries = more ? [...this._entries, ...nodes] : nodes;
      this._entriesCursor = auditLog.pageInfo.hasNextPage ? auditLog.pageInfo.endCursor : null;
    } catch (error) {
      if (loadToken === this._loadToken) emitError(this, error);
    } finally {
      if (loadToken === this._loadToken) this._loading = false;
    }
  }

  async #update(user, changes) {
    try {
      const { updateUser } = await this.#graphql.value.request(UPDATE_USER, {
        id: user.id,
        days: DAYS,
        ...changes,
      });
      this.#replace(updateUser);
      emitNotice(this, t('admin.saved', { username: user.username }));
    } catch (error) {
      emitError(this, error);
      // A refused change (the last admin) leaves the controls showing what is saved.
      this.#replace({ ...user });
    }
  }

  #saveQuotas(event, user) {
    event.preventDefault();
    const form = event.target;
    const daily = parseQuota(form.elements.daily.value);
    const monthly = parseQuota(form.elements.monthly.value);
    this._invalid = {
      ...this._invalid,
      [user.id]: { daily: !daily.valid, monthly: !monthly.valid },
    };
    if (!daily.valid || !monthly.valid) return;
    this.#update(user, { dailyTokenQuota: daily.value, monthlyTokenQuota: monthly.value });
  }

  async #resetPassword() {
    const user = this._confirmReset;
    this._confirmReset = null;
    try {
      const { resetUserPassword } = await this.#graphql.value.request(RESET_USER_PASSWORD, {
        id: user.id,
      });
      this._password = { userId: user.id, password: resetUserPassword.password };
    } catch (error) {
      emitError(this, error);
    }
  }

  #replace(updated) {
    this._users = this._users.map((user) => (user.id === updated.id ? updated : user));
  }
}

customElements.define('admin-page', AdminPage);
