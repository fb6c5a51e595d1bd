/**
 * The chat commands and card buttons: one file each, one line here. The
 * parser, /help, the card's buttons and the dispatcher all come from this
 * table (see CONTRIBUTING.md, "Add a chat command").
 */
import ack from './ack.js'
import bridge from './bridge.js'
import fixed from './fixed.js'
import followup from './followup.js'
import help from './help.js'
import invite from './invite.js'
import lead from './lead.js'
import note from './note.js'
import page from './page.js'
import postmortem from './postmortem.js'
import resolve from './resolve.js'
import role from './role.js'
import sev from './sev.js'
import silence from './silence.js'
import split from './split.js'
import status from './status.js'
import { CommandTable } from './table.js'
import title from './title.js'
import unsilence from './unsilence.js'
import update from './update.js'

export const COMMANDS = new CommandTable([
  ack,
  lead,
  role,
  bridge,
  resolve,
  status,
  update,
  note,
  sev,
  title,
  invite,
  page,
  silence,
  unsilence,
  fixed,
  followup,
  postmortem,
  split,
  help,
])
