import type { IncomingMessage, ServerResponse } from 'node:http'
import { errorMessage } from '../util/errors.js'
import { HttpError, parseJsonBody, readBody, sendJson } from '../util/http.js'
import { isLoopbackHost } from './common.js'
import type { FeishuSandbox } from './server.js'

/**
 * The /sandbox page: the sandbox as a person would see Feishu (chats, names,
 * members, rendered cards, messages, renames), updating live, with a box to
 * write in a chat as one of the sandbox's users and clickable card buttons.
 */
export function sandboxUi(
  sandbox: FeishuSandbox,
  ui: { language: 'zh' | 'en'; timeZone: string } = { language: 'zh', timeZone: 'Asia/Shanghai' },
) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const path = url.pathname
    if (!path.startsWith('/sandbox')) return false
    // DNS rebinding: a page on another site whose name resolves to this machine must not read it.
    if (!isLoopbackHost(req.headers.host))
      throw new HttpError(403, 'the sandbox answers only to localhost, 127.0.0.1 or [::1]')
    if (path === '/sandbox' || path === '/sandbox/') {
      const html = PAGE
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(html),
      })
      res.end(html)
      return true
    }
    if (path === '/sandbox/state') {
      // The page speaks the product's language and writes times in its time zone, as the cards do.
      sendJson(res, 200, { appName: sandbox.appName, ui, ...sandbox.state.dump() })
      return true
    }
    if (path === '/sandbox/stream') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      })
      res.write('retry: 2000\n\n')
      let pending: NodeJS.Timeout | undefined
      const off = sandbox.onChange(() => {
        // Coalesce bursts (a storm) into one refresh every 200 ms.
        pending ??= setTimeout(() => {
          pending = undefined
          res.write('data: changed\n\n')
        }, 200)
      })
      const ping = setInterval(() => res.write(': ping\n\n'), 25_000)
      req.on('close', () => {
        off()
        clearInterval(ping)
        if (pending) clearTimeout(pending)
      })
      return true
    }
    const image = /^\/sandbox\/images\/([\w-]+)$/.exec(path)
    if (image) {
      const img = sandbox.state.images.get(image[1]!)
      if (!img) throw new HttpError(404, 'no such image')
      res.writeHead(200, {
        'content-type': `image/${img.format}`,
        'content-length': img.bytes.length,
      })
      res.end(img.bytes)
      return true
    }
    if (req.method === 'POST' && (path === '/sandbox/say' || path === '/sandbox/click')) {
      const body = parseJsonBody(
        await readBody(req, 64 * 1024),
        req.headers['content-type'],
      ) as Record<string, unknown>
      const str = (name: string) => {
        const v = body[name]
        if (typeof v !== 'string' || !v) throw new HttpError(400, `${name} is required`)
        return v
      }
      try {
        if (path === '/sandbox/say') {
          const { message, delivery } = await sandbox.say(
            str('chat_id'),
            str('open_id'),
            str('text'),
            {
              mentionBot: body.mention_bot === true,
            },
          )
          sendJson(res, 200, { message_id: message.message_id, delivery })
        } else {
          const value = body.value
          if (!value || typeof value !== 'object') throw new HttpError(400, 'value is required')
          sendJson(
            res,
            200,
            await sandbox.click(
              str('message_id'),
              str('open_id'),
              value as Record<string, unknown>,
            ),
          )
        }
      } catch (error) {
        if (error instanceof HttpError) throw error
        throw new HttpError(400, errorMessage(error))
      }
      return true
    }
    return false
  }
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>feishu-warroom sandbox</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%233370ff'/%3E%3C/svg%3E">
<style>
body{font:14px/1.45 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f2f3f5;color:#1f2329}
header{background:#3370ff;color:#fff;padding:10px 18px}header b{font-size:16px}header span{opacity:.85;margin-left:12px}
main{display:flex;height:calc(100vh - 44px)}#chats{width:300px;overflow:auto;background:#fff;border-right:1px solid #dee0e3}
.chat{padding:10px 14px;border-bottom:1px solid #eff0f1;cursor:pointer}.chat.sel{background:#e1eaff}.chat small{color:#8f959e;display:block}
#room{flex:1;display:flex;flex-direction:column}#title{padding:10px 16px;background:#fff;border-bottom:1px solid #dee0e3}
#title small{color:#646a73}#msgs{flex:1;overflow:auto;padding:12px 16px}.sys{color:#8f959e;text-align:center;font-size:12px;margin:6px}
.msg{margin:8px 0;max-width:640px}.who{font-size:12px;color:#646a73}.bubble{background:#fff;border-radius:8px;padding:8px 12px;display:inline-block;white-space:pre-wrap}
.card{background:#fff;border-radius:8px;overflow:hidden;box-shadow:0 1px 3px #0002;max-width:600px}.card .hd{color:#fff;padding:10px 12px;font-weight:600}
.card .bd{padding:8px 12px}.card .fields{display:grid;grid-template-columns:1fr 1fr;gap:6px;margin:6px 0}.card .f.long{grid-column:1/3}
.card hr{border:0;border-top:1px solid #eee}.card .note{color:#8f959e;font-size:12px}.card button{margin:4px 6px 0 0;padding:4px 10px;border-radius:6px;border:1px solid #d0d3d6;background:#fff;cursor:pointer}
.card button.primary{background:#3370ff;color:#fff;border-color:#3370ff}.card button.danger{color:#f54a45;border-color:#f54a45}
.card img{max-width:100%}.at{color:#3370ff}.pin{font-size:11px;color:#f80}
.t-red{background:#f54a45}.t-carmine{background:#c01f3a}.t-orange{background:#ff8800}.t-blue{background:#3370ff}.t-green{background:#34c724}.t-grey{background:#8f959e}.t-yellow{background:#ffc60a}.t-wathet{background:#4da6ff}.t-turquoise{background:#14c0ff}.t-violet{background:#7f3bf5}.t-purple{background:#935af6}.t-indigo{background:#4954e6}.t-default{background:#646a73}
form{display:flex;gap:6px;padding:10px 16px;background:#fff;border-top:1px solid #dee0e3}form input[type=text]{flex:1;padding:6px}
#empty{color:#8f959e;padding:40px;text-align:center}
#pinned{background:#fff8e6;border-bottom:1px solid #f5d78e;padding:6px 16px;max-height:35vh;overflow:auto}#pinned:empty{display:none}
#pinned .lbl{font-size:12px;color:#8f6b00;margin-bottom:4px;cursor:pointer}.chat .tail{color:#8f959e;font-size:11px}
.msg.reply{margin-left:28px;padding-left:8px;border-left:2px solid #dee0e3}.feed{color:#7f3bf5}.storm{color:#d83931}
#attention .ts{padding:4px 16px;background:#fff3e0;color:#8f4a00;font-size:12px}
#notice{padding:8px 16px;display:none}#notice.err{display:block;background:#fde2e2;color:#a8071a}#notice.ok{display:block;background:#e8f7e8;color:#1f6f1f}
</style></head><body>
<header><b id="brand"></b><span id="tagline"></span></header>
<main><div id="chats"></div><div id="room"><div id="title"></div><div id="pinned"></div><div id="attention"></div><div id="urgent"></div><div id="notice" role="status"></div><div id="msgs"><div id="empty"></div></div>
<form id="say"><select id="as"></select><label><input type="checkbox" id="mention" checked> @bot</label><input type="text" id="text"><button id="sendBtn"></button></form></div></main>
<script>
let state=null, sel=null, shown={}, noticeTimer=null, pinnedOpen=null;
// The page's own words, in the product's language (warroom.language).
const L={
 zh:{brand:'飞书沙箱',tagline:'feishu-warroom 做了什么，按飞书的样子显示。这里的一切都不离开本机。',empty:'还没有群聊。发送一条告警（见 README），它的作战室就会出现在这里。',placeholder:'/ack、/resolve 已回滚、/status 或任意内容',send:'发送',members:n=>n+' 位成员',resolved:'已解决',open:'处理中',renamed:n=>'改名 '+n+' 次',pinnedCard:'📌 置顶卡片',topNotice:' · 群置顶',updated:n=>'更新 '+n+' 次',pinned:'📌 已置顶',kinds:{app:'📳 应用内加急',sms:'✉️ 短信加急',phone:'📞 电话加急'},forPinned:'置顶卡片',forMsg:'消息 ',nobodyClick:'群里没有成员可以代为点击：请先邀请成员（见 README）',nobodyWrite:'群里没有成员可以代为发言：请先邀请成员（见 README）',error:'错误 ',receiver:'接收端返回 ',noName:'（无名称）',feed:'📣 通报频道：每个事件一个话题',storm:'🌪️ 告警风暴群：多个事件汇总在一个群里',inThread:'↳ 话题回复',ts:'⏰ 即时提醒（置顶在消息列表）：',bridge:'📹 视频会议 ',released:'（已释放）',join:'加入',
  sys:{'{from_user} started the group chat.':'{from_user} 创建了群组','{from_user} invited {to_chatters} to the group.':'{from_user} 邀请 {to_chatters} 加入了群组','{from_user} updated the group name from "{old_group_name}" to "{group_name}".':'{from_user} 将群名称从“{old_group_name}”修改为“{group_name}”'}},
 en:{brand:'Feishu sandbox',tagline:'What feishu-warroom did, as Feishu would show it. Nothing here leaves this machine.',empty:'No chats yet. Send an alert (see README) and its war room appears here.',placeholder:'/ack, /resolve fixed it, /status or anything',send:'Send',members:n=>n+' members',resolved:'resolved',open:'open',renamed:n=>'renamed '+n+'×',pinnedCard:'📌 pinned card',topNotice:' · top notice',updated:n=>'updated '+n+'×',pinned:'📌 pinned',kinds:{app:'📳 in-app urgent',sms:'✉️ urgent SMS',phone:'📞 urgent phone call'},forPinned:'the pinned card',forMsg:'message ',nobodyClick:'Nobody is in this chat to click as: invite members (see README)',nobodyWrite:'Nobody is in this chat to write as: invite members (see README)',error:'Error ',receiver:'The receiver answered ',noName:'(no name)',feed:'📣 stakeholder feed: one thread per incident',storm:'🌪️ storm room: several incidents gathered in one chat',inThread:'↳ in thread',ts:'⏰ time-sensitive (pinned to the top of the chat list) for: ',bridge:'📹 video meeting ',released:' (released)',join:'join',sys:{}}};
let t=L.zh;
function words(){t=L[(state.ui||{}).language]||L.zh;document.documentElement.lang=state.ui.language==='en'?'en':'zh-CN';
  document.getElementById('brand').textContent=t.brand;document.getElementById('tagline').textContent=t.tagline;
  const e=document.getElementById('empty');if(e)e.textContent=t.empty;document.getElementById('text').placeholder=t.placeholder;document.getElementById('sendBtn').textContent=t.send;}
// Times as the cards write them: the product's time zone, not the browser's.
const clock=ms=>new Intl.DateTimeFormat(state.ui.language==='en'?'en-GB':'zh-CN',{timeZone:state.ui.timeZone,hour:'2-digit',minute:'2-digit',second:'2-digit',hourCycle:'h23'}).format(new Date(Number(ms)));
// A toast fades, as Feishu's do; an error stays longer.
function notice(text,ok){const n=document.getElementById('notice');n.textContent=text;n.className=text?(ok?'ok':'err'):'';
  clearTimeout(noticeTimer);if(text)noticeTimer=setTimeout(()=>notice('',true),ok?4000:10000);}
async function send(path,body){
  try{const r=await fetch(path,{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify(body)});
    const j=await r.json().catch(()=>({}));
    if(!r.ok){notice(t.error+r.status+': '+(j.error||r.statusText),false);return null;}
    const d=j.delivery||j;if(d&&d.status&&d.status>=300){notice(t.receiver+d.status+': '+JSON.stringify(d.body),false);return null;}
    notice('',true);return j;
  }catch(e){notice(t.error+e.message,false);return null;}
}
const esc=s=>String(s).replace(/&(?!#\\d+;)/g,'&amp;').replace(/</g,'&lt;').replace(/>/g,'&gt;').replace(/"/g,'&quot;');
const name=id=>(state.users.find(u=>u.open_id===id)||{}).name||id;
const isFeed=c=>(state.feeds||[]).includes(c.chat_id);
// A storm room is the war room of a storm:<source>:<route> key, which its pinned card's footer names.
const isStorm=(c,byId)=>c.pinned.map(id=>byId[id]).some(m=>m&&m.msg_type==='interactive'&&(m.content.elements||[]).some(e=>e.tag==='note'&&(e.elements||[]).some(x=>/(^| · )storm:/.test(x.content||''))));
function md(text){
  let h=esc(text);
  h=h.replace(/&lt;at (?:id|user_id)=["']?([^"'&\\s]+)["']?&gt;&lt;\\/at&gt;/g,(m,id)=>'<span class="at">@'+esc(id==='all'?'all':name(id))+'</span>');
  h=h.replace(/\\*\\*(.+?)\\*\\*/g,'<b>$1</b>').replace(/\\[([^\\]]*)\\]\\((https?:[^)\\s]+)\\)/g,'<a href="$2" target="_blank" rel="noopener">$1</a>');
  h=h.replace(/&lt;font color='(\\w+)'&gt;(.*?)&lt;\\/font&gt;/g,'<span style="color:$1">$2</span>');
  return h.replace(/\\n/g,'<br>');
}
function card(c,m){
  const hd=c.header||{};let out='<div class="card"><div class="hd t-'+esc(hd.template||'default')+'">'+esc((hd.title||{}).content||'')+'</div><div class="bd">';
  for(const e of c.elements||[]){
    if(e.tag==='markdown')out+='<div>'+md(e.content)+'</div>';
    else if(e.tag==='hr')out+='<hr>';
    else if(e.tag==='div'){if(e.text)out+='<div>'+md(e.text.content)+'</div>';if(e.fields)out+='<div class="fields">'+e.fields.map(f=>'<div class="f'+(f.is_short?'':' long')+'">'+md(f.text.content)+'</div>').join('')+'</div>';}
    else if(e.tag==='img')out+='<img src="/sandbox/images/'+esc(e.img_key)+'">';
    else if(e.tag==='note')out+='<div class="note">'+(e.elements||[]).map(x=>esc(x.content)).join(' ')+'</div>';
    else if(e.tag==='action')out+='<div>'+(e.actions||[]).map(a=>a.url?'<a href="'+esc(a.url)+'" target="_blank" rel="noopener"><button>'+esc(a.text.content)+'</button></a>':'<button class="'+esc(a.type||'')+'" data-msg="'+m.message_id+'" data-value="'+esc(JSON.stringify(a.value||{}))+'">'+esc(a.text.content)+'</button>').join('')+'</div>';
  }
  return out+'</div></div>';
}
function post(c){const loc=Object.values(c)[0]||{};return (loc.title?'<b>'+esc(loc.title)+'</b><br>':'')+(loc.content||[]).map(p=>p.map(n=>n.tag==='at'?'<span class="at">@'+esc(name(n.user_id))+'</span>':n.tag==='a'?'<a href="'+esc(n.href)+'" target="_blank" rel="noopener">'+esc(n.text)+'</a>':esc(n.text||'')).join('')).join('<br>');}
function system(m){if(m.shown)return esc(m.shown);const c=m.content;let s=t.sys[c.template]||c.template||'';for(const [k,v] of Object.entries(c))if(Array.isArray(v))s=s.replace('{'+k+'}',v.join(', '));return esc(s);}
function render(){
  const chats=state.chats.filter(c=>c.name!==''||c.description!=='p2p');
  // The newest war room first; a feed alone leaves the "no war room yet" line in view.
  const rooms=chats.filter(c=>!isFeed(c));
  if(!sel&&rooms.length)sel=rooms[rooms.length-1].chat_id;
  words();
  const byId=Object.fromEntries(state.messages.map(m=>[m.message_id,m]));
  // Chats of the same name (a reopened key, two storms) told apart by their id's end and first message.
  const tail=c=>{const first=byId[c.messages[0]];return ' <span class="tail">…'+esc(c.chat_id.slice(-6))+(first?' · '+esc(clock(first.create_time)):'')+'</span>';};
  document.getElementById('chats').innerHTML=chats.slice().reverse().map(c=>'<div class="chat'+(c.chat_id===sel?' sel':'')+'" data-id="'+c.chat_id+'">'+esc(c.name||t.noName)+'<small>'+(((state.time_sensitive||{})[c.chat_id]||[]).length?'⏰ ':'')+t.members(c.members.length)+' · '+(isFeed(c)?'<span class="feed">'+t.feed+'</span>':(isStorm(c,byId)?'<span class="storm">🌪️</span> ':'')+(c.description.includes(':r:')||c.description.includes(':resolved:')?t.resolved:t.open))+tail(c)+'</small></div>').join('');
  const chat=state.chats.find(c=>c.chat_id===sel); if(!chat)return;
  const feedLine=isFeed(chat)?' · <span class="feed">'+t.feed+'</span>':isStorm(chat,byId)?' · <span class="storm">'+t.storm+'</span>':'';
  // Who has this chat time-sensitive, and its video meeting (matched by its link in the chat's messages).
  const tsFor=((state.time_sensitive||{})[chat.chat_id]||[]);
  const texts=chat.messages.map(id=>JSON.stringify((byId[id]||{}).content||''));
  const meetings=(state.meetings||[]).filter(m=>texts.some(x=>x.includes(m.url)));
  document.getElementById('attention').innerHTML=(tsFor.length?'<div class="ts">'+t.ts+tsFor.map(name).map(esc).join(', ')+'</div>':'')+meetings.map(m=>'<div class="ts">'+t.bridge+esc(m.meeting_no)+' · <a href="'+esc(m.url)+'" target="_blank" rel="noopener">'+t.join+'</a>'+(m.released?t.released:'')+'</div>').join('');
  document.getElementById('title').innerHTML='<b>'+esc(chat.name)+'</b><br><small>'+chat.members.map(name).map(esc).join(', ')+' · '+t.renamed(chat.names.length-1)+feedLine+tail(chat)+'</small>';
  const pinnedCards=chat.pinned.map(id=>byId[id]).filter(m=>m&&m.msg_type==='interactive');
  // A small window keeps the chat readable: the pinned card starts folded (click its label to unfold).
  const open=pinnedOpen===null?window.innerHeight>=700:pinnedOpen;
  document.getElementById('pinned').innerHTML=pinnedCards.map(m=>'<details'+(open?' open':'')+'><summary class="lbl">'+t.pinnedCard+(chat.top_notice===m.message_id?t.topNotice:'')+(m.patches?' · '+t.updated(m.patches):'')+'</summary>'+card(m.content,m)+'</details>').join('');
  document.getElementById('urgent').innerHTML=(state.urgent||[]).filter(u=>chat.messages.includes(u.message_id)).map(u=>'<div class="sys">'+esc(t.kinds[u.kind]||u.kind)+' → '+u.user_ids.map(name).map(esc).join(', ')+' · '+(chat.pinned.includes(u.message_id)?t.forPinned:t.forMsg+esc(u.message_id))+' · '+esc(clock(u.at))+'</div>').join('');
  const box=document.getElementById('msgs');const atEnd=box.scrollHeight-box.scrollTop-box.clientHeight<40;
  // Thread replies follow their root (Feishu shows a thread under its first message).
  const listed=chat.messages.map(id=>byId[id]).filter(m=>m&&!(m.root_id&&chat.messages.includes(m.root_id)));
  const ordered=listed.flatMap(m=>[m,...chat.messages.map(id=>byId[id]).filter(r=>r&&r.root_id===m.message_id)]);
  box.innerHTML=ordered.map(m=>{
    if(m.msg_type==='system')return '<div class="sys">'+system(m)+'</div>';
    const who=m.sender.sender_type==='app'?state.appName:name(m.sender.id);
    const pin=chat.pinned.includes(m.message_id)?' <span class="pin">'+t.pinned+'</span>':'';
    const upd=m.patches?' <span class="pin">'+t.updated(m.patches)+'</span>':'';
    const body=m.msg_type==='interactive'?card(m.content,m):m.msg_type==='post'?'<div class="bubble">'+post(m.content)+'</div>':'<div class="bubble">'+esc((m.content.text||JSON.stringify(m.content)).replace(/@_user_\\d+/g,'@'+state.appName))+'</div>';
    // A reply in a thread (the feed's, reply_in_thread) sits under its root, as Feishu's thread view does.
    const reply=m.root_id?' reply':'';const th=m.root_id?'<span class="pin">'+t.inThread+'</span> ':'';
    return '<div class="msg'+reply+'"><div class="who">'+th+esc(who)+pin+upd+'</div>'+body+'</div>';}).join('');
  // New messages come into view, as in Feishu; reading further up is left alone.
  if(atEnd||shown[chat.chat_id]!==chat.messages.length){box.scrollTop=box.scrollHeight;}
  shown[chat.chat_id]=chat.messages.length;
  const as=document.getElementById('as'); const cur=as.value;
  as.innerHTML=chat.members.map(id=>'<option value="'+id+'">'+esc(name(id))+'</option>').join(''); if(cur)as.value=cur;
}
async function load(){state=await (await fetch('/sandbox/state')).json();render();}
document.getElementById('chats').onclick=e=>{const d=e.target.closest('.chat');if(d){sel=d.dataset.id;render();}};
document.getElementById('room').onclick=async e=>{const b=e.target.closest('button[data-msg]');if(!b)return;
  const as=document.getElementById('as').value;if(!as){notice(t.nobodyClick,false);return;}
  const j=await send('/sandbox/click',{message_id:b.dataset.msg,open_id:as,value:JSON.parse(b.dataset.value)});
  if(j&&j.body&&j.body.toast)notice(j.body.toast.content,j.body.toast.type!=='error');};
document.getElementById('say').onsubmit=async e=>{e.preventDefault();const t=document.getElementById('text');if(!t.value)return;
  const as=document.getElementById('as').value;if(!as){notice(t.nobodyWrite,false);return;}
  if(await send('/sandbox/say',{chat_id:sel,open_id:as,text:t.value,mention_bot:document.getElementById('mention').checked}))t.value='';};
document.getElementById('pinned').addEventListener('toggle',e=>{pinnedOpen=e.target.open;},true);
new EventSource('/sandbox/stream').onmessage=load; load();
</script></body></html>`
