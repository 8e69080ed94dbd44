/*
 * amo-bridge widget for amoCRM / Kommo.
 *
 * Shows the KPI dashboard served by the amo-bridge backend on the widget's advanced settings page
 * and on its left-menu page. Every call to the backend goes through self.$authorizedAjax(), which
 * adds the one-time X-Auth-Token (a JWT signed with the integration's secret). The backend answers
 * POST /widget/session with a short-lived signed link, shown in an iframe: the page is rendered on
 * the server, so nothing else is loaded here. Admins also get pause/resume switches for the people
 * who receive leads.
 *
 * Plain DOM, no libraries: the same file runs inside amoCRM (AMD via define) and in the tests.
 */
define([], function () {
  'use strict';

  return function () {
    var self = this;

    function settings() {
      return (typeof self.get_settings === 'function' && self.get_settings()) || {};
    }

    function backend() {
      return String(settings().backend_url || '').trim().replace(/\/+$/, '');
    }

    function lang() {
      var system = (typeof self.system === 'function' && self.system()) || {};
      var code = String(system.lang || (window.AMOCRM && window.AMOCRM.lang_id) || 'ru');
      return code.slice(0, 2) === 'en' ? 'en' : 'ru';
    }

    function text(key) {
      var words = (typeof self.i18n === 'function' && self.i18n('dashboard')) || {};
      return words[key] || key;
    }

    function el(tag, attrs, children) {
      var node = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (name) {
        if (name === 'text') {
          node.textContent = attrs[name];
        } else {
          node.setAttribute(name, attrs[name]);
        }
      });
      (children || []).forEach(function (child) { node.appendChild(child); });
      return node;
    }

    function call(method, path) {
      // $authorizedAjax returns a jQuery Deferred; .then(ok, fail) works on it and on a Promise.
      return self.$authorizedAjax({ url: backend() + path, type: method, method: method, dataType: 'json' });
    }

    function workArea() {
      // The page amoCRM gives advanced_settings and widget_page: #work-area-<widget code>.
      var code = settings().widget_code || '';
      return document.getElementById('work-area-' + code) || document.querySelector('[data-amo-bridge-root]');
    }

    function showMessage(root, key) {
      root.textContent = '';
      root.appendChild(el('p', { 'class': 'amo-bridge-message', text: text(key) }));
    }

    function renderSwitches(root) {
      call('GET', '/widget/distribution').then(function (body) {
        var list = el('ul', { 'class': 'amo-bridge-switches', style: 'list-style:none;margin:0;padding:0;max-width:640px' });
        (body.items || []).forEach(function (share) {
          var state = el('span', {
            'class': 'state',
            style: 'color:#6b7785;margin-left:auto',
            text: text(share.paused ? 'paused' : 'active')
          });
          var button = el('button', {
            type: 'button',
            'class': 'button-input',
            'data-member-id': String(share.member_id),
            'data-action': share.paused ? 'resume' : 'pause',
            text: text(share.paused ? 'resume' : 'pause')
          });
          button.addEventListener('click', function () {
            var action = button.getAttribute('data-action');
            button.disabled = true;
            call('POST', '/widget/members/' + share.member_id + '/' + action).then(function (result) {
              button.setAttribute('data-action', result.paused ? 'resume' : 'pause');
              button.textContent = text(result.paused ? 'resume' : 'pause');
              state.textContent = text(result.paused ? 'paused' : 'active');
              button.disabled = false;
              openDashboard(root, true);
            }, function () {
              button.disabled = false;
            });
          });
          list.appendChild(el('li', {
            'data-member-id': String(share.member_id),
            style: 'display:flex;gap:12px;align-items:center;padding:4px 0;border-bottom:1px solid #e4e8ee'
          }, [
            el('span', { 'class': 'member', text: share.member + ' (' + share.level + ') ' }), state, button
          ]));
        });
        var box = el('section', { 'class': 'amo-bridge-admin', style: 'margin:16px 0' }, [
          el('h3', { text: text('switches'), style: 'font-weight:600;margin:0 0 8px' }), list
        ]);
        // The switches go above the dashboard, where an admin sees them first.
        root.insertBefore(box, root.firstChild);
      }, function () { /* the dashboard still shows; the switches need admin rights */ });
    }

    function openDashboard(root, frameOnly) {
      if (!root) {
        return;
      }
      if (!backend()) {
        showMessage(root, 'no_backend');
        return;
      }
      if (!frameOnly) {
        showMessage(root, 'loading');
      }
      call('POST', '/widget/session?lang=' + lang()).then(function (session) {
        var frame = root.querySelector('iframe.amo-bridge-dashboard');
        if (!frame) {
          root.textContent = '';
          frame = el('iframe', {
            'class': 'amo-bridge-dashboard',
            title: 'amo-bridge KPI',
            referrerpolicy: 'no-referrer',
            style: 'width:100%;min-height:1400px;border:0;background:#f4f6f9'
          });
          root.appendChild(frame);
          if (session.is_admin) {
            renderSwitches(root);
          }
        }
        frame.setAttribute('src', backend() + session.path);
      }, function () {
        showMessage(root, 'failed');
      });
    }

    this.openDashboard = openDashboard;

    this.callbacks = {
      render: function () { return true; },
      init: function () { return true; },
      bind_actions: function () { return true; },
      settings: function () { return true; },
      onSave: function () { return true; },
      destroy: function () {},
      advancedSettings: function () {
        openDashboard(workArea(), false);
        return true;
      },
      initMenuPage: function () {
        openDashboard(workArea(), false);
        return true;
      }
    };

    return this;
  };
});
