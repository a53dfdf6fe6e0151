import { beforeEach, describe, expect, test } from 'vitest';
import {
  clearDrafts,
  loadDraft,
  loadEditDraft,
  saveDraft,
  saveEditDraft,
} from '../../src/lib/drafts.js';
import { applyTheme, loadOptions, loadTheme, saveOptions } from '../../src/lib/preferences.js';
import { clearSession, loadSession, saveSession } from '../../src/lib/session.js';

beforeEach(() => {
  sessionStorage.clear();
  localStorage.clear();
});

describe('drafts', () => {
  test('are kept per user and conversation, and an empty one is forgotten', () => {
    saveDraft('u1', 'c1', 'one');
    saveDraft('u1', null, 'new chat');
    saveDraft('u2', 'c1', 'other user');
    expect([loadDraft('u1', 'c1'), loadDraft('u1', null), loadDraft('u2', 'c1')]).toEqual([
      'one',
      'new chat',
      'other user',
    ]);
    saveDraft('u1', 'c1', '');
    expect(sessionStorage.length).toBe(2);
  });

  test('an edit of a sent prompt is kept per user and post, apart from the composer', () => {
    saveDraft('u1', 'c1', 'composer text');
    saveEditDraft('u1', 'p1', 'edited prompt');
    expect([loadEditDraft('u1', 'p1'), loadEditDraft('u2', 'p1'), loadDraft('u1', 'c1')]).toEqual([
      'edited prompt',
      '',
      'composer text',
    ]);
    saveEditDraft('u1', 'p1', '');
    expect(loadEditDraft('u1', 'p1')).toBe('');
    saveEditDraft('u1', 'p2', 'another');
    clearDrafts();
    expect(loadEditDraft('u1', 'p2')).toBe('');
  });

  test('logout forgets every draft and nothing else', () => {
    saveDraft('u1', 'c1', 'one');
    sessionStorage.setItem('chat.session', '{}');
    clearDrafts();
    expect(loadDraft('u1', 'c1')).toBe('');
    expect(sessionStorage.getItem('chat.session')).toBe('{}');
  });
});

describe('preferences', () => {
  test('options are kept per conversation without empty values', () => {
    saveOptions('c1', { language: 'Português', format: '', maxTokens: null });
    expect(loadOptions('c1')).toEqual({ language: 'Português' });
    expect(loadOptions('c2')).toEqual({});
    saveOptions('c1', { language: '' });
    expect(localStorage.length).toBe(0);
  });

  test('broken stored options read as none', () => {
    localStorage.setItem('chat.options:c1', '{oops');
    expect(loadOptions('c1')).toEqual({});
  });

  test('a chosen theme is applied and remembered; system forgets it', () => {
    applyTheme('dark');
    expect([loadTheme(), document.documentElement.dataset.theme]).toEqual(['dark', 'dark']);
    applyTheme('system');
    expect([loadTheme(), document.documentElement.dataset.theme]).toEqual(['system', undefined]);
    localStorage.setItem('chat.theme', 'purple');
    expect(loadTheme()).toBe('system');
  });
});

describe('session', () => {
  const user = { id: 'u1', username: 'ana' };

  test('lives in sessionStorage, never in localStorage', () => {
    saveSession({ token: 't', user, expiresAt: new Date(Date.now() + 60_000).toISOString() });
    expect(loadSession()).toMatchObject({ token: 't', user });
    expect(localStorage.length).toBe(0);
    clearSession();
    expect(loadSession()).toBeNull();
  });

  test('an expired or broken session reads as none', () => {
    saveSession({ token: 't', user, expiresAt: new Date(Date.now() - 1000).toISOString() });
    expect(loadSession()).toBeNull();
    sessionStorage.setItem('chat.session', 'not json');
    expect(loadSession()).toBeNull();
  });
});
